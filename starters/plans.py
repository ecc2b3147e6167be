"""Talking to plans from outside: start one, send it a message, ask its status.

Used by the command line and by anything else (a case system's adapter, tests). Input is
checked here first with the same models and rules the workflow uses, so a bad start is refused
before anything is sent and a signal (which the workflow cannot refuse) is not sent malformed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import workflows
from worker.search_attributes import plans_indexed
from workflows import models as m
from workflows import search_attributes as sa
from workflows.calendar import WorkingCalendar, local_date, non_working_days
from workflows.engine import PlanEngine
from workflows.messages import PLAN_MESSAGES
from workflows.policy import get_profile

# Every message the workflow accepts (declared once, in workflows/messages.py): name -> (payload
# model, kind). The command line builds one sub-command per entry from the model's fields.
MESSAGES: dict[str, tuple[type[BaseModel], str]] = {spec.name: (spec.model, spec.kind) for spec in PLAN_MESSAGES}


class PlanCommandError(Exception):
    """An expected failure, with a one-line reason fit to show a user (no traceback)."""


class UnknownPlan(PlanCommandError):
    pass


class Refused(PlanCommandError):
    """The workflow refused an update; the message names the field and why."""


def today_in_london() -> date:
    return local_date(datetime.now(UTC))


def check_start(doc: Any) -> m.PlanStart:
    """The whole start check, client-side: shape (Refusal), the policy (PolicyError), then the
    rules that need the profile and calendar (Refusal). Returns the parsed start."""
    start = m.parse(m.PlanStart, doc)
    profile = get_profile(start.policy)
    icpc = start.icpc_date
    calendar = WorkingCalendar(non_working_days(profile.region, icpc.year - 1, icpc.year + 2, profile.closure_days))
    PlanEngine.check_start(start, profile, calendar, today_in_london())
    return start


async def start_plan(client: Client, doc: dict[str, Any]) -> tuple[str, bool]:
    """Start the plan's workflow, or return the one already there: (workflow id, created)."""
    start = check_start(doc)
    workflow_id = workflows.workflow_id(start.plan_id)
    options: dict[str, Any] = dict(
        id=workflow_id,
        task_queue=workflows.task_queue(),
        # The contract: one plan per plan_id, ever. A running one is returned; an ended one
        # is not started again.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # Opaque ids only: memos are visible to anyone who can list workflows.
        memo={"plan_id": start.plan_id, "policy": start.policy},
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
    try:
        handle = await client.start_workflow(workflows.WORKFLOW_TYPE, arg, **options)
    except WorkflowAlreadyStartedError:
        return workflow_id, False  # an ended plan with this id
    # The server says whether it started a new run or used the existing one. The SDK keeps its
    # response on the handle but has no public accessor; without it, assume a new start.
    response = getattr(handle, "_start_workflow_response", None)
    created = bool(response.started) if response is not None else True
    return workflow_id, created


def check_message(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Validate a message's payload against its model (`Refusal` names each bad field) and
    return it normalised, still with only the fields given, so the model's defaults are the
    workflow's to apply."""
    if name not in MESSAGES:
        raise PlanCommandError(f"unknown message {name!r}; known: {', '.join(MESSAGES)}")
    return m.parse(MESSAGES[name][0], payload).model_dump(mode="json", exclude_unset=True)


def _not_found(plan_id: str, err: RPCError) -> PlanCommandError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return UnknownPlan(
            f"no plan {plan_id!r} (workflow {workflows.workflow_id(plan_id)} not found or already ended)"
        )
    return PlanCommandError(f"{workflows.workflow_id(plan_id)}: {err.message}")


async def send_update(client: Client, plan_id: str, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Send an update and wait for its result; a refusal raises `Refused` with the workflow's
    message (which names the field)."""
    payload = check_message(name, payload)
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        return await handle.execute_update(name, payload, result_type=dict)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            raise Refused(cause.message) from None
        raise Refused(str(cause)) from None
    except RPCError as err:
        raise _not_found(plan_id, err) from None


async def send_signal(client: Client, plan_id: str, name: str, payload: dict[str, Any]) -> None:
    """Send a signal (the workflow records it whatever happens, so it is checked here first)."""
    payload = check_message(name, payload)
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        await handle.signal(name, payload)
    except RPCError as err:
        raise _not_found(plan_id, err) from None


async def query_status(client: Client, plan_id: str) -> dict[str, Any]:
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        return await handle.query("status", result_type=dict)
    except RPCError as err:
        raise _not_found(plan_id, err) from None
