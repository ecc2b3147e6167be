"""Smoke test: a plan runs on a Temporal server with the project's worker."""

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
    year_when,
)


async def test_plan_starts_and_reports_its_first_core_group_due(env, db_url):
    # ICPC on Monday 23 November (London): the first core group is due 10 working days later,
    # Monday 7 December (no bank holiday between; 000 9.2.4).
    y = await year_when(env, "Mon 23 Nov")
    await skip_to(env, london(f"{y}-11-23", 10))
    async with running_worker(env) as task_queue:
        handle = await start_plan_workflow(env.client, plan_doc(icpc_date=f"{y}-11-23"), task_queue=task_queue)

        async def first_core_group():
            status = await query_status(handle)
            assert status["state"] == "active", status
            return obligation(status, "first-core-group")

        first = await eventually(first_core_group)
        assert first["kind"] == "first-core-group"
        assert first["due"] == f"{y}-12-07"
        await assert_no_failed_workflow_task(handle)
