"""Events out through the real server: a plan started on the time-skipping server is heard by a
case system's receiver as `plan.started`, signed; a message it could not read, the obligations
that fall overdue as its clock runs and the escalations they bring follow, each once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from activities.event_facts import MESSAGE_UNREADABLE, OBLIGATION_MET, OBLIGATION_OVERDUE, PLAN_ESCALATED, PLAN_STARTED
from tests.helpers import assert_no_failed_workflow_task, eventually, plan_doc, running_worker, start_plan_workflow
from tests.helpers.plan_scenario import Plan
from tests.helpers.webhook_receiver import receiving_events
from tests.web.test_openapi_webhooks import openapi_document, request_schema, validator
from workflows.calendar import local_date


async def test_a_plan_is_heard_by_the_case_system_from_its_start(
    env, db_url, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    async with receiving_events(monkeypatch) as receiver, running_worker(env) as tq:
        today = local_date(await env.get_current_time())
        doc = plan_doc(icpc_date=(today - timedelta(days=3)).isoformat())
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()

        async def heard(event_type: str) -> list:
            async def check() -> list:
                found = [r for r in receiver.received if r.type == event_type]
                assert found, f"no {event_type}: {receiver.types()}"
                return found

            return await eventually(check, timeout=30)

        [started] = await heard(PLAN_STARTED)
        assert started.event.get_subject() == doc["plan_id"]
        assert started.data["child_ref"] == doc["child_ref"] and started.data["icpc_date"] == doc["icpc_date"]
        assert started.data["lead_social_worker"] == doc["lead_social_worker"]["id"]
        # Opaque references only: no address of anyone in the start reaches the receiver.
        assert "@" not in str([r.data for r in receiver.received])

        await plan.handle.signal("report_death", args=[])  # no payload: kept as unreadable
        [unreadable] = await heard(MESSAGE_UNREADABLE)
        assert unreadable.data["message"] == "report_death"
        assert (await plan.status())["state"] == "active"

        # Five weeks on, nothing recorded: the first core group and the visits are overdue and
        # the team manager has been told.
        await plan.at(await env.get_current_time() + timedelta(days=35))
        overdue = await heard(OBLIGATION_OVERDUE)
        late = {o["id"] for o in (await plan.status())["obligations"] if o["status"] in ("overdue", "escalated")}
        assert {r.data["obligation_id"] for r in overdue} <= late and late

        # Others may be told before the team manager (their events can come first): wait
        # for the team manager's.
        async def team_manager_told() -> None:
            escalated = await heard(PLAN_ESCALATED)
            assert "tm-1" in {r.data["to"] for r in escalated}, [r.data for r in escalated]

        await eventually(team_manager_told, timeout=30)

        visit = next(o for o in (await plan.status())["obligations"] if o["id"] in late and o["kind"] == "visit")
        await plan.update("record_visit", {"date": local_date(await env.get_current_time()).isoformat(), "seen": True})
        met = await heard(OBLIGATION_MET)
        assert any(r.data["obligation_id"] == visit["id"] and r.data["late"] is True for r in met)
        await assert_no_failed_workflow_task(plan.handle)
    assert receiver.refused == 0
    assert len(receiver.ids(MESSAGE_UNREADABLE)) == 1  # the record, not the note of who was told
    ids = receiver.ids()
    assert len(ids) == len(set(ids)), "an event was sent twice"
    # Each as posted is what the OpenAPI document's `webhooks` says of its type.
    document = openapi_document(tmp_path)
    for r in receiver.received:
        errors = [
            e.message for e in validator(document, request_schema(document, r.type)).iter_errors(json.loads(r.body))
        ]
        assert not errors, (r.type, errors)
