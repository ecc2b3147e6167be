"""Talking to plans from outside: start one, send it a message, ask its status.

Used by the command line and by anything else (a case system's adapter, tests). Input is
checked here first with the same models and rules the workflow uses, so a bad start is refused
before anything is sent and a signal (which the workflow cannot refuse) is not sent malformed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.converter import WorkflowSerializationContext
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import workflows
from activities.plan_context import plan_context
from activities.plan_health import EXECUTION_STATUS, NOT_FOUND, Execution, describe_plan
from worker.binding import sending
from worker.search_attributes import plans_indexed
from workflows import models as m
from workflows import search_attributes as sa
from workflows.activity_io import PlanContext, PlanContextRequest
from workflows.calendar import local_date, profile_calendar
from workflows.engine import PlanEngine
from workflows.message_spec import CAPACITY_WORDS
from workflows.messages import PLAN_MESSAGES
from workflows.policy import PolicyError, get_profile
from workflows.runtime import NOT_ENTITLED
from workflows.status import newest_history

# Every message the workflow accepts (the registry, workflows/messages.py): name -> (payload
# model, kind). The command line builds one sub-command per entry from the model's fields.
MESSAGES: dict[str, tuple[type[BaseModel], str]] = {spec.name: (spec.model, spec.kind) for spec in PLAN_MESSAGES}


class PlanCommandError(Exception):
    """An expected failure, with a one-line reason fit to show a user (no traceback).

    `code` is its reason, which the command line and the API map to an exit code or an HTTP
    status without reading the words: refused, forbidden, conflict, not_found, no_answer,
    unavailable (Temporal could not take it)."""

    code = "unavailable"


class UnknownPlan(PlanCommandError):
    code = "not_found"


class Refused(PlanCommandError):
    """The workflow refused an update; the message names the field and why. `code` is
    "forbidden" when the sender is not entitled to it on this plan (`NotEntitledRefused`: the
    workflow's failure type says so, `m.NotEntitled`), "refused" for bad input."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.code = code

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) pairs: the workflow writes a refusal as `m.Refusal` does."""
        found = []
        for part in str(self).split("; "):
            name, sep, reason = part.partition(": ")
            found.append((name, reason) if sep else ("(plan)", part))
        return found


class NoAnswer(PlanCommandError):
    """No worker answered an update in time. The server keeps it: it may still be applied when a
    worker comes, and retrying it with the same request id is safe (it is applied once)."""

    code = "no_answer"


class Busy(PlanCommandError):
    """The plan was taking as many updates at once as the server allows (its in-flight updates
    limit) for as long as the command waited: nothing was applied; retry shortly."""

    retry_after_s = 2
    code = "busy"


DEFAULT_TIMEOUT = 30.0  # seconds an update waits for a worker before the command gives up
# The server takes a few updates to one plan at once (its in-flight updates limit, 10 by
# default) and refuses more with RESOURCE_EXHAUSTED, before anything is applied: such an update
# is sent again after a pause, doubling from BUSY_FIRST_PAUSE_S to BUSY_LONGEST_PAUSE_S (with
# jitter, so many senders do not return together), until the command's timeout.
# The same is done when the server aborts an update it had admitted ("workflow update was
# aborted", UNAVAILABLE: it lost the workflow task carrying it, as happens in such a storm).
SEND_AGAIN = frozenset({RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE})
# Past the limit the server is worse than refusing: measured on the dev server, 60 updates at
# 10-way concurrency took 0.8 s, at 12-way 17 s and at 16-way over two minutes, admitted
# updates being aborted as the plan's workflow tasks were dropped. So one process sends at most
# UPDATES_AT_ONCE_PER_PLAN to a plan at a time and the rest wait their turn here (the time
# counts against the timeout); the pause-and-send-again covers other processes' updates.
UPDATES_AT_ONCE_PER_PLAN = 8
BUSY_FIRST_PAUSE_S = 0.05
BUSY_LONGEST_PAUSE_S = 2.0


def request_id(plan_id: str, name: str, payload: dict[str, Any], given: str | None = None) -> str:
    """The id a message is sent with, so that sending it again is applied once: Temporal keeps
    one result per update id within a run, and one signal per request id.

    `given` is the caller's own request id (a case system's transaction reference). Without
    one, an update's id is a hash of the plan, the message and its normalised payload, so the
    same record typed twice is one record; a signal's is new each time, because a report must
    never be dropped as a repeat (a child can go missing, be found and go missing again on the
    same day): a report is retried safely with a request id of the caller's. The message name
    is part of the id either way: one request id reused for two messages must not swallow the
    second, and so is a digest of the payload: the same request id sent with other values is
    another request, never answered with the first one's result."""
    if given:
        return f"{name}:{given}:{payload_digest(payload)}"
    if MESSAGES.get(name, (None, "update"))[1] == "signal":
        return f"{name}:{uuid.uuid4().hex}"
    return f"{name}:{payload_digest([plan_id, name, payload])}"


def payload_digest(value: Any) -> str:
    """A short hash of a JSON value, keys sorted: the same values give the same digest."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def today_in_london() -> date:
    return local_date(datetime.now(UTC))


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


def check_message(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Validate a message's payload against its model (`Refusal` names each bad field) and
    return it normalised, still with only the fields given, so the model's defaults are the
    workflow's to apply."""
    if name not in MESSAGES:
        raise PlanCommandError(f"unknown message {name!r}; known: {', '.join(MESSAGES)}")
    return m.parse(MESSAGES[name][0], payload).model_dump(mode="json", exclude_unset=True)


class NotEntitledRefused(Refused):
    """The workflow refused an update because its sender is not entitled to it on this plan
    (the error's type says so, `workflows.runtime.NOT_ENTITLED`: 403 on the HTTP API)."""

    def __init__(self, message: str):
        super().__init__(message, m.NotEntitled.code)


# Each message's capacity (workflows/message_spec.py): what a sender is checked against.
CAPACITY: dict[str, str] = {spec.name: spec.decided_by for spec in PLAN_MESSAGES}


def entitled_ids(status: dict[str, Any], capacity: str) -> list[str] | None:
    """Who holds `capacity` on the plan, from its status. A run older than the status's
    `entitled` (null, or absent from an older worker) gives only its lead social worker and
    managers: a practitioner's capacity is checked against them, a manager's against `managers`,
    and the service manager's is left to the workflow (None)."""
    entitled = status.get("entitled")
    if isinstance(entitled, dict) and isinstance(entitled.get(capacity), list):
        return [str(i) for i in entitled[capacity]]
    managers = status.get("managers")
    if not isinstance(managers, list) or capacity == "service-manager":
        return None
    lead = [status["lead_social_worker"]] if capacity == "practitioner" and status.get("lead_social_worker") else []
    return [str(i) for i in dict.fromkeys([*lead, *managers])]


def reports_take_by(status: dict[str, Any]) -> bool:
    """Whether the plan's run reads a report's `by` (entitled-senders): one that started before
    it reads a report with a `by` as one it cannot read, so none is sent to it."""
    return isinstance(status.get("entitled"), dict)


def check_entitled(name: str, person: str | None, status: dict[str, Any], *, field: str = "by") -> None:
    """`person` holds the capacity `name` needs on this plan, else `m.NotEntitled`."""
    capacity = CAPACITY[name]
    ids = entitled_ids(status, capacity)
    if ids is None or person in ids:
        return
    reason = f"{person!r} is not {CAPACITY_WORDS[capacity]} ({', '.join(ids)}); nothing was sent"
    raise m.NotEntitled.one(field, reason)


def check_report(name: str, payload: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """A report against the plan, before it is sent: the workflow cannot refuse a signal (it
    keeps what it cannot use as an unreadable message and tells people), so what would be kept
    so is refused here. Its date not in the future (London's today) nor before the plan's
    conference; its `by`, where it has one, entitled to send it on this plan (a manager's
    report, `escalate`, always has one); an escalation to a manager, not oneself. Returns the
    payload to send."""
    if "date" in payload:
        check_report_date(payload["date"], status)
    if name == "record_delivery_failure":
        check_delivery_key(payload, status)
    if payload.get("by") is not None or CAPACITY[name] != "practitioner":
        check_entitled(name, payload.get("by"), status)
    if name == "escalate":
        check_escalation_to(str(payload.get("to")), payload.get("by"), status)
    if CAPACITY[name] == "practitioner" and not reports_take_by(status):
        # Checked, but not sent: this plan's run would keep the report as unreadable.
        return {k: v for k, v in payload.items() if k != "by"}
    return payload


def check_escalation_to(to: str, by: str | None, status: dict[str, Any]) -> None:
    """To one of the plan's managers, or a manager of the organisation's directory
    (`CPPLAN_STAFF_FILE`, starters/staff.py); never to the one escalating."""
    from starters import staff

    if to == by:
        raise m.Refusal.one("to", "is who escalates: an escalation goes to someone else; nothing was sent")
    managers = entitled_ids(status, "manager") or []
    if to in managers:
        return
    try:
        listed = staff.is_manager(to)
    except staff.StaffFileError as err:
        raise PlanCommandError(str(err)) from None
    if not listed:
        directory = os.environ.get(staff.STAFF_FILE_ENV)
        where = (
            " nor a manager in the staff directory"
            if directory
            else ", and no staff directory is set (CPPLAN_STAFF_FILE)"
        )
        raise m.Refusal.one(
            "to", f"{to!r} is not one of this plan's managers ({', '.join(managers)}){where}; nothing was sent"
        )


def check_delivery_key(payload: dict[str, Any], status: dict[str, Any]) -> None:
    """A notification of this plan, to that person: `{plan_id}:{what}:{to}`."""
    key, to, plan_id = str(payload.get("key", "")), str(payload.get("to", "")), str(status.get("plan_id", ""))
    if not (key.startswith(f"{plan_id}:") and key.endswith(f":{to}")) or len(key) <= len(plan_id) + len(to) + 2:
        raise m.Refusal.one("key", f"is not a notification of plan {plan_id} to {to}; nothing was sent")


def check_report_date(day: str, status: dict[str, Any]) -> None:
    """Not in the future (London's today), not before the plan's conference."""
    when = date.fromisoformat(day)
    today = today_in_london()
    if when > today:
        raise m.Refusal.one("date", f"{when} is in the future (today is {today}); nothing was sent")
    icpc = status.get("icpc_date")
    if icpc and when < date.fromisoformat(str(icpc)[:10]):
        raise m.Refusal.one("date", f"{when} is before the plan started ({icpc}); nothing was sent")


def _not_found(plan_id: str, err: RPCError) -> PlanCommandError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return UnknownPlan(
            f"no plan {plan_id!r} (workflow {workflows.workflow_id(plan_id)} not found or already ended)"
        )
    return PlanCommandError(f"{workflows.workflow_id(plan_id)}: {err.message}")


class _PlanGates:
    """At most `size` updates in flight to one workflow from this process (per event loop: a
    semaphore belongs to the loop it first waits in)."""

    def __init__(self, size: int):
        self.size = size
        self._gates: dict[tuple[int, str], tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def gate(self, workflow_id: str) -> AsyncIterator[None]:
        key = (id(asyncio.get_running_loop()), workflow_id)
        gate, users = self._gates.get(key, (asyncio.Semaphore(self.size), 0))
        self._gates[key] = (gate, users + 1)
        try:
            async with gate:
                yield
        finally:
            gate, users = self._gates[key]
            if users <= 1:
                del self._gates[key]  # nobody else waiting: the gate is let go
            else:
                self._gates[key] = (gate, users - 1)


_PLAN_GATES = _PlanGates(UPDATES_AT_ONCE_PER_PLAN)


def no_answer_text(timeout: float, request: str | None) -> str:
    """What a timed-out update says: the server keeps it, so a worker that comes later applies
    it (tests/cli/test_delivery.py shows one applied after the command gave up)."""
    retry = f"--request-id {request}" if request else "the same command (its request id is derived from it)"
    return (
        f"no worker answered within {timeout:g} s; the update may still be applied when a worker comes: "
        f"retrying with {retry} is safe, it is applied once"
    )


async def send_update(
    client: Client,
    plan_id: str,
    name: str,
    payload: dict[str, Any],
    *,
    request: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Send an update and wait for its result; a refusal raises `Refused` with the workflow's
    message (which names the field), no answer within `timeout` seconds raises `NoAnswer`.
    `request` is the caller's request id (see `request_id`)."""
    payload = check_message(name, payload)
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    update_id = request_id(plan_id, name, payload, request)
    busy = True  # until this process lets it go to the server (_PLAN_GATES)
    try:
        async with asyncio.timeout(timeout), _PLAN_GATES.gate(handle.id):
            busy = False
            pause = BUSY_FIRST_PAUSE_S
            while True:
                try:
                    return await handle.execute_update(name, payload, id=update_id, result_type=dict)
                except RPCError as err:
                    if err.status not in SEND_AGAIN:
                        raise
                    busy = err.status == RPCStatusCode.RESOURCE_EXHAUSTED
                # Sent again with the same id: applied once whatever became of the first.
                await asyncio.sleep(pause * random.uniform(0.5, 1.0))
                pause = min(pause * 2, BUSY_LONGEST_PAUSE_S)
    # Cancelled by the deadline, the SDK raises its own error rather than TimeoutError.
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        if busy:
            raise Busy(
                f"the plan was taking as many updates at once as Temporal allows for all of {timeout:g} s; "
                "nothing was applied: send it again shortly"
            ) from None
        raise NoAnswer(no_answer_text(timeout, request)) from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == NOT_ENTITLED:
            raise NotEntitledRefused(cause.message) from None
        if isinstance(cause, ApplicationError):
            raise Refused(cause.message) from None
        raise Refused(str(cause)) from None
    except RPCError as err:
        raise _not_found(plan_id, err) from None


async def send_signal(
    client: Client,
    plan_id: str,
    name: str,
    payload: dict[str, Any],
    *,
    request: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send a signal (the workflow records it whatever happens, so it is checked here first)
    with a request id, so the server keeps one of a retried signal. The SDK's `handle.signal`
    makes up a random request id of its own, so this sends the service request itself; the
    payload goes through the client's data converter (and codec) all the same. Returns the
    request id it was sent with."""
    payload = check_message(name, payload)
    req = SignalWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflows.workflow_id(plan_id)),
        signal_name=name,
        identity=client.identity,
        request_id=request_id(plan_id, name, payload, request),
    )
    # Sealed as the SDK's own `signal` would seal it: for this plan's workflow, as this message.
    converter = client.data_converter.with_context(
        WorkflowSerializationContext(namespace=client.namespace, workflow_id=req.workflow_execution.workflow_id)
    )
    req.input.payloads.extend(await sending(name, lambda: converter.encode([payload])))
    try:
        await client.workflow_service.signal_workflow_execution(req, retry=True, timeout=timedelta(seconds=timeout))
    except RPCError as err:
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            again = req.request_id.removeprefix(f"{name}:")
            raise NoAnswer(
                f"Temporal did not answer within {timeout:g} s; the report may not have been kept "
                f"(retry with --request-id {again}: it is kept once)"
            ) from None
        raise _not_found(plan_id, err) from None
    return req.request_id


async def query_status(client: Client, plan_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The plan's `status` query; a worker answers it, so with none running it gives up after
    `timeout` seconds (`NoAnswer`) rather than wait for the server's own deadline."""
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        return await asyncio.wait_for(handle.query("status", result_type=dict), timeout=timeout)
    except TimeoutError:
        raise NoAnswer(f"no worker answered the plan's status query within {timeout:g} s") from None
    except RPCError as err:
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            raise NoAnswer(f"no worker answered the plan's status query within {timeout:g} s") from None
        raise _not_found(plan_id, err) from None


# A status query waits for a worker to run the plan's workflow task: bounded, so a plan no
# worker can answer for (no worker running, a task that keeps failing) is reported, not waited on.
QUERY_TIMEOUT = timedelta(seconds=10)


async def plan_status(client: Client, plan_id: str) -> tuple[dict[str, Any] | None, Execution]:
    """The plan's status and its workflow's execution. The status comes from the `status` query
    while the workflow runs and answers; otherwise from the read model's last save (None if it
    never saved). Raises UnknownPlan when the server has no such workflow."""
    execution = await describe_plan(client, plan_id)
    if execution.status == NOT_FOUND:
        raise UnknownPlan(f"no plan {plan_id!r} (workflow {workflows.workflow_id(plan_id)} not found)")
    if execution.running and not execution.task_failing:
        handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
        try:
            return await handle.query("status", result_type=dict, rpc_timeout=QUERY_TIMEOUT), execution
        except RPCError as err:
            if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise _not_found(plan_id, err) from None
            # No worker answered in time: say so, with what the read model last saw.
            execution = Execution(plan_id, "running", execution.run_id, None, execution.task_attempt)
            saved = await asyncio.to_thread(_saved_status, plan_id)
            return ({**(saved or {}), "answered": False}), execution
    return await asyncio.to_thread(_saved_status, plan_id), execution


def _saved_status(plan_id: str) -> dict[str, Any] | None:
    """The read model's last save of the plan; None where this machine cannot read it (the
    command still reports what the server says)."""
    import sqlalchemy

    from activities.read_model import get_plan_status

    try:
        saved = get_plan_status(plan_id)
    except sqlalchemy.exc.SQLAlchemyError:
        return None
    # As the status query gives it: the newest history entries (`cpplan history` has them all).
    return None if saved is None else newest_history(saved)
