"""Starting a plan: the whole start checked here first with the workflow's own models and rules
(so a bad start is refused before anything is sent), then one plan per plan_id, ever."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

import workflows
from activities.plan_context import plan_context
from activities.plan_health import EXECUTION_STATUS
from starters.cases.reports import today_in_london
from worker.search_attributes import plans_indexed
from workflows import models as m
from workflows import search_attributes as sa
from workflows.activity_io import PlanContext, PlanContextRequest
from workflows.calendar import profile_calendar
from workflows.complaint_rules import COMPLAINT_WORKFLOW_TYPE, ComplaintStart, complaint_workflow_id
from workflows.engine import PlanEngine
from workflows.policy import PolicyError, get_profile


def check_start(doc: Any) -> m.PlanStart:
    """The whole start check, client-side: shape (Refusal), the policy (PolicyError), then the
    rules that need the profile and calendar (Refusal). Returns the parsed start.

    A bad shape and an unknown policy are reported together, so a caseload row lists every
    mistake at once."""
    problems: list[tuple[str, str]] = []
    try:
        start = m.parse(m.PlanStart, doc)
    except m.Refusal as err:
        problems = list(err.problems)
    policy = doc.get("policy") if isinstance(doc, dict) else None
    if isinstance(policy, str) and all(name != "policy" for name, _ in problems):
        try:
            get_profile(policy.strip())
        except PolicyError as err:
            problems.append(("policy", str(err).removeprefix("policy: ")))
    if problems:
        raise m.Refusal(problems)
    profile = get_profile(start.policy)
    icpc = start.icpc_date
    calendar = profile_calendar(profile, icpc.year - 1, icpc.year + 2)
    PlanEngine.check_start(start, profile, calendar, today_in_london())
    return start


def start_digest(start: m.PlanStart) -> str:
    """A hash of the normalised start (every field, defaults applied): the same plan sent twice
    hashes the same, whatever the spacing, key order or omitted defaults. Kept in the memo."""
    canonical = json.dumps(start.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class StartConflict(m.Refusal):
    """A start for a plan_id whose workflow exists with other content, or has ended. A Refusal,
    so `cpplan import` reports it as the row's problem."""

    code = "conflict"


def differing_fields(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the fields whose values differ (never the values: they may be personal)."""
    names: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            names += differing_fields(a, b, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return names


async def _first_start(client: Client, workflow_id: str, run_id: str) -> m.PlanStart | None:
    """The start input of one run: the document itself in a first run, the carried state's
    start in a later one."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id or None)
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        args = await client.data_converter.decode(payloads) if payloads else []
        if args and isinstance(args[0], dict):
            return m.parse(m.PlanStart, args[0])
        if len(args) > 1 and isinstance(args[1], dict) and isinstance(args[1].get("start"), dict):
            return m.parse(m.PlanStart, args[1]["start"])
        return None
    return None


async def _check_same_plan(client: Client, workflow_id: str, start: m.PlanStart) -> None:
    """Raise StartConflict naming the fields in which `start` differs from the running plan's."""
    described = await client.get_workflow_handle(workflow_id).describe()
    memo = await described.memo()
    if memo.get("start_digest") == start_digest(start):
        return
    first = None
    # The first run's input is what was sent; once the namespace's retention has removed that
    # run, the current run's carried start (which a change of lead social worker updates).
    for run_id in dict.fromkeys([described.raw_info.first_run_id, described.run_id]):
        try:
            first = await _first_start(client, workflow_id, run_id)
        except (RPCError, m.Refusal):
            continue
        if first is not None:
            break
    if first is None:
        raise StartConflict.one("plan_id", f"{workflow_id} is running with other content (its start is unreadable)")
    fields = differing_fields(first.model_dump(mode="json"), start.model_dump(mode="json"))
    if fields:
        raise StartConflict(
            [(name, f"differs from the plan already running as {workflow_id}; not started") for name in fields]
        )


async def _refuse_closed(client: Client, workflow_id: str) -> StartConflict:
    try:
        described = await client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return StartConflict.one("plan_id", f"{workflow_id} has ended; a plan_id is never started again")
    status = EXECUTION_STATUS.get(described.status, "closed") if described.status else "closed"
    when = f" on {described.close_time.date().isoformat()}" if described.close_time else ""
    return StartConflict.one(
        "plan_id", f"{workflow_id} is not running ({status}{when}); a plan_id is never started again"
    )


def start_context(start: m.PlanStart) -> PlanContext | None:
    """The plan's profile and non-working days, as the workflow's `load_plan_context` activity
    would load them in its first run (same function, same years). None if they cannot be loaded
    here: the workflow then loads them itself and reports what is wrong."""
    from workflows.plan import CALENDAR_YEARS_AHEAD

    request = PlanContextRequest(
        policy=start.policy,
        first_year=start.icpc_date.year - 1,
        last_year=today_in_london().year + CALENDAR_YEARS_AHEAD,
    )
    try:
        return plan_context(request)
    except ApplicationError:
        return None


async def start_plan(client: Client, doc: dict[str, Any]) -> tuple[str, bool]:
    """Start the plan's workflow: (workflow id, created). A second start with the same content
    returns the running plan (created False); one with other content, or for a plan whose
    workflow has closed, raises StartConflict."""
    start = check_start(doc)
    workflow_id = workflows.workflow_id(start.plan_id)
    options: dict[str, Any] = dict(
        id=workflow_id,
        task_queue=workflows.task_queue(),
        # The contract: one plan per plan_id, ever. A running one is returned; an ended one
        # is not started again.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # Opaque ids only: memos are visible to anyone who can list workflows. The digest
        # lets a second start tell "the same plan again" from "another plan, same id".
        memo={"plan_id": start.plan_id, "policy": start.policy, "start_digest": start_digest(start)},
        # The ops view's search attributes; the workflow keeps them current from then on.
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PLAN_STATE, "active"),
                SearchAttributePair(sa.POLICY, start.policy),
                SearchAttributePair(sa.TEAM_REF, start.team_manager.id),
            ]
        ),
    )
    if not await plans_indexed(client):
        # A server without the plan search attributes (`cpplan dev` registers them): the plan
        # runs all the same, only without the ops view's filters.
        del options["search_attributes"]
    # What the user gave, normalised (stripped strings, ISO dates); defaults stay the
    # workflow's to apply.
    arg = start.model_dump(mode="json", exclude_unset=True)
    # The context goes with the start (the workflow's third argument, after the carried state
    # a first run does not have), so the first workflow task does not load it.
    context = start_context(start)
    args = [arg] if context is None else [arg, None, context.model_dump(mode="json")]
    try:
        handle = await client.start_workflow(workflows.WORKFLOW_TYPE, args=args, **options)
    except WorkflowAlreadyStartedError:
        raise await _refuse_closed(client, workflow_id) from None
    # The server says whether it started a new run or used the existing one. The SDK keeps its
    # response on the handle but has no public accessor; without it, assume a new start.
    response = getattr(handle, "_start_workflow_response", None)
    created = bool(response.started) if response is not None else True
    if not created:
        await _check_same_plan(client, workflow_id, start)
    return workflow_id, created


def check_complaint_start(doc: Any) -> ComplaintStart:
    """A complaint's start document, checked as the workflow checks it (`Refusal` names each
    bad field)."""
    return m.parse(ComplaintStart, doc)


async def start_complaint(client: Client, doc: Any) -> str:
    """Start a `ConferenceComplaint` (002 'Child Protection Conference Complaints'): its
    workflow id. One complaint per complaint_id: a running one is returned, an ended one is not
    started again."""
    start = check_complaint_start(doc)
    workflow_id = complaint_workflow_id(start.complaint_id)
    try:
        await client.start_workflow(
            COMPLAINT_WORKFLOW_TYPE,
            start.model_dump(mode="json", exclude_unset=True),
            id=workflow_id,
            task_queue=workflows.task_queue(),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # Opaque references only, as a plan's memo.
            memo={"complaint_id": start.complaint_id, "plan_id": start.plan_id, "policy": start.policy},
        )
    except WorkflowAlreadyStartedError:
        raise StartConflict.one(
            "complaint_id", f"{workflow_id} has ended; a complaint_id is never started again"
        ) from None
    return workflow_id
