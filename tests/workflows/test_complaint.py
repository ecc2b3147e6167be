"""A complaint about a conference (002 'Child Protection Conference Complaints') as a workflow
on the time-skipping server with the real worker: its clocks, who is told, what is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from tests.helpers import (
    assert_no_failed_workflow_task,
    easter_sunday,
    isleap,
    london,
    running_worker,
    skip_to,
    year_when,
)
from tests.helpers.plan_scenario import Plan
from workflows.complaint_rules import COMPLAINT_WORKFLOW_TYPE, complaint_workflow_id


def complaint_doc(received_date: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "complaint_id": f"cc-{uuid.uuid4().hex[:8]}",
        "plan_id": f"p-{uuid.uuid4().hex[:8]}",
        "policy": "darlington",
        "received_date": received_date,
        "complainant_ref": "cmp-1",
        "service_manager": {"id": "sm-1", "role": "service-manager"},
        "scrutineer": {"id": "scr-1", "role": "partnership"},
        "aspect": "decision",
    }
    doc.update(overrides)
    return doc


async def start(env, tq: str, received: str, **overrides: Any) -> Plan:
    """Start the complaint on `received` at 11:00; the scenario's Plan helper drives it (its
    outbox rows carry the plan's id)."""
    await skip_to(env, london(received, 11))
    doc = complaint_doc(received, **overrides)
    handle = await env.client.start_workflow(
        COMPLAINT_WORKFLOW_TYPE, doc, id=complaint_workflow_id(doc["complaint_id"]), task_queue=tq
    )
    assert handle.id == f"cp-complaint-{doc['complaint_id']}"
    complaint = Plan(env, handle, doc["plan_id"])
    await complaint.started()
    return complaint


async def test_a_complaint_through_every_stage_reminded_escalated_and_ended_by_the_appeal(env, db_url):
    # Received Mon 11 Jan, in a year of 365 days (so the spring weekdays are those of every such
    # year) whose Easter Monday is no later than 12 April: the appeal's twenty working days then
    # skip Good Friday and Easter Monday, and the five after the meeting on 13 April skip none.
    z = await year_when(
        env, "Mon 11 Jan", also=lambda year: not isleap(year) and easter_sunday(year).strftime("%m-%d") <= "04-11"
    )
    async with running_worker(env) as tq:
        # Received Mon 11 Jan: the service manager responds by Mon 25 Jan (10 working days).
        c = await start(env, tq, f"{z}-01-11")
        status = await c.status()
        assert (status["stage"], status["state"]) == ("service-manager", "active")
        assert (await c.obligation("service-manager-response"))["due"] == f"{z}-01-25"
        await c.told("letter", "sm-1", "service-manager-response")
        # Reminded Thu 21 Jan at 09:00.
        await c.at(london(f"{z}-01-21", 8, 30))
        c.not_told("reminder", "sm-1", "service-manager-response")
        await c.at(london(f"{z}-01-21", 9, 30))
        await c.told("reminder", "sm-1", "service-manager-response")
        # Nothing recorded: overdue after the 25th, the Independent Scrutineer told Tue 26 Jan at 09:00.
        await c.at(london(f"{z}-01-26", 8, 30))
        assert (await c.obligation("service-manager-response"))["status"] == "overdue"
        c.not_told("escalation", "scr-1", "service-manager-response")
        await c.at(london(f"{z}-01-26", 9, 30))
        await c.told("escalation", "scr-1", "service-manager-response")
        assert (await c.obligation("service-manager-response"))["status"] == "escalated"
        response = await c.update("record_response", {"date": f"{z}-01-26"})
        assert response["status"] == "met-late"
        # Not satisfied: forwarded to the scrutineer on Mon 1 Feb.
        await c.at(london(f"{z}-02-01", 11))
        forwarded = await c.update("escalate_to_scrutineer", {"date": f"{z}-02-01"})
        assert forwarded == {
            "stage": "scrutineer",
            "acknowledgement_due": f"{z}-02-08",
            "consideration_due": f"{z}-02-22",
            "written_response_due": f"{z}-03-15",
        }
        await c.told("letter", "scr-1", "acknowledgement")
        await c.at(london(f"{z}-02-04", 9, 30))
        await c.told("reminder", "scr-1", "acknowledgement")
        await c.update("record_acknowledgement", {"date": f"{z}-02-04"})
        await c.at(london(f"{z}-02-22", 12))
        await c.update("record_consideration", {"date": f"{z}-02-22"})
        await c.at(london(f"{z}-03-12", 12))
        await c.update("record_written_response", {"date": f"{z}-03-12"})
        # Appeal in writing Tue 16 Mar: the subcommittee meets by Thu 15 Apr (Easter skipped).
        await c.at(london(f"{z}-03-16", 11))
        appeal = await c.update("request_appeal", {"date": f"{z}-03-16"})
        assert appeal == {"stage": "appeal", "appeal_meeting_due": f"{z}-04-15"}
        await c.at(london(f"{z}-04-13", 16))
        meeting = await c.update("record_appeal_meeting", {"date": f"{z}-04-13"})
        assert meeting["appeal_outcome_due"] == f"{z}-04-20"
        await c.at(london(f"{z}-04-19", 11))
        outcome = await c.update("record_appeal_outcome", {"date": f"{z}-04-19"})
        assert outcome["state"] == "closed"
        final = await c.handle.result()
        assert (final["state"], final["stage"], final["close_reason"]) == ("closed", "appeal", "appeal procedure ended")
        assert {o["id"]: o["status"] for o in final["obligations"]} == {
            "service-manager-response": "met-late",
            "acknowledgement": "met",
            "consideration": "met",
            "written-response": "met",
            "appeal-meeting": "met",
            "appeal-outcome": "met",
        }
        await c.told("letter", "darlington-safeguarding-partnership", "appeal-outcome")
        await assert_no_failed_workflow_task(c.handle)
        # The whole history replays in the worker's sandbox without nondeterminism.
        from temporalio.worker import Replayer

        from worker.client import worker_data_converter
        from worker.main import sandbox_runner, workflow_classes

        replayer = Replayer(
            workflows=workflow_classes(), workflow_runner=sandbox_runner(), data_converter=worker_data_converter()
        )
        await replayer.replay_workflow(await c.handle.fetch_history())


async def test_refusals_change_nothing_then_the_satisfied_complainant_closes_it(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        c = await start(env, tq, f"{z}-01-11")
        await c.at(london(f"{z}-01-18", 11))
        assert f"date: {z}-01-19 is in the future" in await c.refused("record_response", {"date": f"{z}-01-19"})
        assert f"date: {z}-01-08 is before the complaint was received ({z}-01-11)" in await c.refused(
            "record_response", {"date": f"{z}-01-08"}
        )
        assert "date: Input should be a valid date" in await c.refused("record_response", {"date": f"18/01/{z}"})
        assert "record_response first" in await c.refused("escalate_to_scrutineer", {"date": f"{z}-01-18"})
        assert "at the service-manager stage" in await c.refused("record_acknowledgement", {"date": f"{z}-01-18"})
        await c.update("record_response", {"date": f"{z}-01-15"})
        assert f"date: {z}-01-14 is before the service manager's response ({z}-01-15)" in await c.refused(
            "escalate_to_scrutineer", {"date": f"{z}-01-14"}
        )
        closed = await c.update("close", {"date": f"{z}-01-18", "reason_ref": "res-1"})
        assert closed["reason"] == "resolved after the service manager's response"
        final = await c.handle.result()
        assert (final["state"], final["stage"], final["closed_on"]) == ("closed", "service-manager", f"{z}-01-18")
        assert [(o["id"], o["status"]) for o in final["obligations"]] == [("service-manager-response", "met")]
        await assert_no_failed_workflow_task(c.handle)


async def test_a_profile_without_a_complaints_procedure_refuses_to_start(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{z}-01-11", 11))
    async with running_worker(env) as tq:
        doc = complaint_doc(f"{z}-01-11", policy="london")
        handle = await env.client.start_workflow(
            COMPLAINT_WORKFLOW_TYPE, doc, id=complaint_workflow_id(doc["complaint_id"]), task_queue=tq
        )
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
        cause = err.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "NoComplaintsProcedure" and cause.non_retryable
        assert "london" in cause.message
