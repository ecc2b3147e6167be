"""Reading a case: its `status` query while a worker answers, else the read model's last save,
as the workflow's own typed models (`PlanStatus`, `ComplaintStatus`, workflows/status.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import workflows
from activities.plan_health import NOT_FOUND, Execution, describe_plan
from starters.cases.errors import ClientError, NoAnswer, UnknownPlan
from starters.cases.messages import COMPLAINTS, PLANS, CaseKind
from starters.cases.send import DEFAULT_TIMEOUT, not_found
from workflows.status import CaseStatus, ComplaintStatus, PlanStatus, newest_history

Status = TypeVar("Status", bound=CaseStatus)


def read_status(model: type[Status], doc: Any, whose: str) -> Status:
    """The status JSON as its typed model; one that does not read is said, not guessed at."""
    try:
        return model.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(status)"
        raise ClientError(f"the status of {whose} could not be read ({where}: {first['msg']})") from None


# How often a case still starting is asked again (its first task loads its profile and calendar).
STARTING_ASKED_EVERY_S = 0.2


async def _query(client: Client, case_id: str, timeout: float, case_kind: CaseKind) -> Any:
    """The case's `status` query; a worker answers it, so with none running it gives up after
    `timeout` seconds (`NoAnswer`) rather than wait for the server's own deadline. A case whose
    first task has not finished answers only that it is starting: it is asked again until it
    has a status or the time is up."""
    handle = client.get_workflow_handle(case_kind.workflow_id(case_id))
    gave_up = f"no worker answered the {case_kind.noun}'s status query within {timeout:g} s"
    doc: Any = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                doc = await handle.query("status", result_type=dict)
                if not (isinstance(doc, dict) and doc.get("state") == "starting"):
                    return doc
                await asyncio.sleep(STARTING_ASKED_EVERY_S)
    except TimeoutError:
        if doc is not None:
            gave_up = f"the {case_kind.noun} was still starting after {timeout:g} s (its first task has not finished)"
        raise NoAnswer(gave_up) from None
    except RPCError as err:
        if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise NoAnswer(gave_up) from None
        raise not_found(case_id, err, case_kind) from None


async def query_status(client: Client, plan_id: str, timeout: float = DEFAULT_TIMEOUT) -> PlanStatus:
    """The plan's status, as its workflow answers it now."""
    return read_status(PlanStatus, await _query(client, plan_id, timeout, PLANS), f"plan {plan_id!r}")


async def query_complaint_status(
    client: Client, complaint_id: str, timeout: float = DEFAULT_TIMEOUT
) -> ComplaintStatus:
    """The complaint's status, as its workflow answers it now."""
    doc = await _query(client, complaint_id, timeout, COMPLAINTS)
    return read_status(ComplaintStatus, doc, f"complaint {complaint_id!r}")


# A status query waits for a worker to run the plan's workflow task: bounded, so a plan no
# worker can answer for (no worker running, a task that keeps failing) is reported, not waited on.
QUERY_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True)
class PlanReading:
    """What `plan_status` found: the status (None if there is none to show), the workflow's
    execution, and whether a worker answered (False: the status is the read model's last save)."""

    status: PlanStatus | None
    execution: Execution
    answered: bool


async def plan_status(client: Client, plan_id: str) -> PlanReading:
    """The plan's status and its workflow's execution. The status comes from the `status` query
    while the workflow runs and answers; otherwise from the read model's last save (None if it
    never saved). Raises UnknownPlan when the server has no such workflow."""
    execution = await describe_plan(client, plan_id)
    if execution.status == NOT_FOUND:
        raise UnknownPlan(f"no plan {plan_id!r} (workflow {workflows.workflow_id(plan_id)} not found)")
    if execution.running and not execution.task_failing:
        try:
            doc = await _query(client, plan_id, QUERY_TIMEOUT.total_seconds(), PLANS)
            return PlanReading(read_status(PlanStatus, doc, f"plan {plan_id!r}"), execution, answered=True)
        except NoAnswer:
            # No worker answered in time: say so, with what the read model last saw.
            execution = Execution(plan_id, "running", execution.run_id, None, execution.task_attempt)
            return PlanReading(await asyncio.to_thread(_saved_status, plan_id), execution, answered=False)
    return PlanReading(await asyncio.to_thread(_saved_status, plan_id), execution, answered=True)


def _saved_status(plan_id: str) -> PlanStatus | None:
    """The read model's last save of the plan; None where this machine cannot read it (the
    command still reports what the server says)."""
    import sqlalchemy

    from activities.read_model import get_plan_status

    try:
        saved = get_plan_status(plan_id)
    except sqlalchemy.exc.SQLAlchemyError:
        return None
    if saved is None:
        return None
    # As the status query gives it: the newest history entries (`cpplan history` has them all).
    return read_status(PlanStatus, newest_history(saved), f"plan {plan_id!r} (as last saved)")
