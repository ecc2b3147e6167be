"""What ops staff see in the Temporal UI: search attributes that find the plans in trouble, and
current details that say in words what a plan waits for."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import EventType

from starters.cases import start_plan
from tests.helpers import assert_no_failed_workflow_task, eventually, plan_doc, running_worker
from worker.client import data_converter
from worker.search_attributes import ensure_search_attributes
from workflows import search_attributes as sa
from workflows.calendar import local_date


async def test_an_overdue_plan_is_found_by_its_search_attributes(env, db_url, monkeypatch):
    assert set(await ensure_search_attributes(env.client)) == {k.name for k in sa.ALL}
    assert await ensure_search_attributes(env.client) == []  # registering twice is harmless
    today = local_date(await env.get_current_time())
    async with running_worker(env) as tq:
        monkeypatch.setenv("CPPLAN_TASK_QUEUE", tq)
        doc = plan_doc(
            icpc_date=today.isoformat(),
            team_manager={"id": "team-7-tm", "role": "team-manager", "email": "tm-7@example.org"},
        )
        workflow_id, created = await start_plan(env.client, doc)
        assert created
        handle = env.client.get_workflow_handle(workflow_id)

        async def indexed():
            attrs = (await handle.describe()).typed_search_attributes
            assert attrs.get(sa.PLAN_STATE) == "active" and attrs.get(sa.NEXT_DUE) is not None, attrs
            return attrs

        attrs = await eventually(indexed)
        assert attrs.get(sa.POLICY) == "london" and attrs.get(sa.TEAM_REF) == "team-7-tm"
        assert attrs.get(sa.OVERDUE_COUNT) == 0
        # Nothing recorded for three weeks: the first core group and the first visit are late.
        await env.sleep(timedelta(days=21))

        async def overdue():
            count = (await handle.describe()).typed_search_attributes.get(sa.OVERDUE_COUNT)
            assert count and count >= 2, count
            return count

        await eventually(overdue)
        await assert_no_failed_workflow_task(handle)


async def test_current_details_say_what_the_plan_waits_for(env, db_url):
    from tests.helpers import london, skip_to, start_plan_workflow, year_when
    from tests.helpers.plan_scenario import Plan

    z = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{z}-01-11", 11))
    async with running_worker(env) as tq:
        doc = plan_doc(icpc_date=f"{z}-01-11")
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()
        history = await plan.handle.fetch_history()
        encoded = [e.user_metadata.summary for e in history.events if e.HasField("user_metadata")]
        assert encoded, "timers carry summaries"
        # Local activities do not (workflows/runtime.py `run_activity` says why): their markers
        # name the activity already.
        markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
        assert markers and not any(e.HasField("user_metadata") for e in markers)
        # Summaries are encrypted like every payload: the UI shows them through the codec server.
        converter = data_converter()
        decoded = await converter.decode(encoded, [str] * len(encoded))
        text = " | ".join(decoded)
        assert f"first core group due {z}-01-25" in text
