"""Smoke test: a plan runs on a Temporal server with the project's worker."""

from datetime import timedelta

from tests.helpers import (
    assert_no_failed_workflow_task,
    eventually,
    london,
    obligation,
    plan_doc,
    query_status,
    running_worker,
    skip_to,
    start_plan_workflow,
)


async def test_plan_starts_and_reports_its_first_core_group_due(env, db_url):
    # ICPC Monday 23 Nov 2026 (London): the first core group is due 10 working days later.
    # Only "on or after the conference day" matters here, so a clock already past 10:00 will do.
    await skip_to(env, london("2026-11-23", 10), late_ok=timedelta(days=14))
    async with running_worker(env) as task_queue:
        handle = await start_plan_workflow(env.client, plan_doc(icpc_date="2026-11-23"), task_queue=task_queue)

        async def first_core_group():
            status = await query_status(handle)
            assert status["state"] == "active", status
            return obligation(status, "first-core-group")

        first = await eventually(first_core_group)
        assert first["kind"] == "first-core-group"
        assert first["due"] == "2026-12-07"
        await assert_no_failed_workflow_task(handle)
