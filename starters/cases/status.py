"""Reading a plan: its `status` query while a worker answers, else the read model's last save."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

import workflows
from activities.plan_health import NOT_FOUND, Execution, describe_plan
from starters.cases.errors import NoAnswer, UnknownPlan
from starters.cases.messages import PLANS, CaseKind
from starters.cases.send import DEFAULT_TIMEOUT, not_found
from workflows.status import newest_history


async def query_status(
    client: Client, plan_id: str, timeout: float = DEFAULT_TIMEOUT, case_kind: CaseKind = PLANS
) -> dict[str, Any]:
    """The plan's (or, with `case_kind`, another case's) `status` query; a worker answers it, so
    with none running it gives up after `timeout` seconds (`NoAnswer`) rather than wait for the
    server's own deadline."""
    handle = client.get_workflow_handle(case_kind.workflow_id(plan_id))
    try:
        return await asyncio.wait_for(handle.query("status", result_type=dict), timeout=timeout)
    except TimeoutError:
        raise NoAnswer(f"no worker answered the {case_kind.noun}'s status query within {timeout:g} s") from None
    except RPCError as err:
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            raise NoAnswer(f"no worker answered the {case_kind.noun}'s status query within {timeout:g} s") from None
        raise not_found(plan_id, err, case_kind) from None


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
                raise not_found(plan_id, err) from None
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
