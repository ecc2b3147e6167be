"""A refused update is refused by its validator, before the server writes it: the plan's history
holds no trace of it (no update admitted, accepted or completed), and its status is unchanged.
Refused in the handler instead, it would be accepted first and stay in the history for ever."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from tests.helpers import (
    assert_no_failed_workflow_task,
    london,
    plan_doc,
    query_status,
    running_worker,
    skip_to,
    start_plan_workflow,
    year_when,
)
from tests.helpers.plan_scenario import Plan

UPDATE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
}


async def update_ids_in_history(handle: WorkflowHandle) -> list[tuple[str, str]]:
    """(event type, update id) of every update event in the plan's history."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type not in UPDATE_EVENTS:
            continue
        name = EventType.Name(event.event_type)
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            found.append((name, event.workflow_execution_update_accepted_event_attributes.protocol_instance_id))
        elif event.HasField("workflow_execution_update_completed_event_attributes"):
            found.append((name, event.workflow_execution_update_completed_event_attributes.meta.update_id))
        elif event.HasField("workflow_execution_update_admitted_event_attributes"):
            found.append((name, event.workflow_execution_update_admitted_event_attributes.request.meta.update_id))
        else:
            found.append((name, ""))
    return found


async def test_a_visit_recorded_in_the_future_is_refused_and_leaves_no_event_in_the_history(env, db_url):
    # ICPC Mon 11 Jan; on Mon 18 Jan a visit is recorded for tomorrow.
    y = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{y}-01-11", 11))
    async with running_worker(env) as tq:
        doc = plan_doc(icpc_date=f"{y}-01-11")
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()
        await plan.at(london(f"{y}-01-18", 11))
        before = await query_status(plan.handle)

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await plan.handle.execute_update(
                "record_visit", {"date": f"{y}-01-19", "seen": True}, id="visit-tomorrow", result_type=dict
            )
        assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "Refused"
        assert f"date: {y}-01-19 is in the future" in refused.value.cause.message

        assert await update_ids_in_history(plan.handle) == []
        assert await query_status(plan.handle) == before

        # An accepted update does leave its events, under its id: what the check above looks for.
        await plan.handle.execute_update("record_visit", {"date": f"{y}-01-18", "seen": True}, id="visit-today")
        events = await update_ids_in_history(plan.handle)
        assert ("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "visit-today") in events
        assert ("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED", "visit-today") in events
        assert not [e for e in events if e[1] == "visit-tomorrow"]
        assert (await query_status(plan.handle)) != before
        await assert_no_failed_workflow_task(plan.handle)
