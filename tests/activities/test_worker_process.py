"""The worker against a real (test) Temporal server: registration, activities by name, shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import date, timedelta

import pytest
from structlog.testing import capture_logs
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

from activities.read_model import list_outbox
from worker.client import connect
from worker.logging import configure_logging
from worker.main import build_worker, run_worker, workflow_classes
from workflows.activity_io import PlanContext, PlanContextRequest


def target(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@workflow.defn(sandboxed=False)
class CallsActivitiesByName:
    """Calls the activities the way the plan workflow does: by name, with the shared models."""

    @workflow.run
    async def run(self, plan_id: str) -> list[date]:
        from workflows.activity_io import NotifyBatch, NotifyResult
        from workflows.engine import Notification

        context = await workflow.execute_activity(
            "load_plan_context",
            PlanContextRequest(policy="isle-of-man", first_year=2026, last_year=2026),
            result_type=PlanContext,
            start_to_close_timeout=timedelta(seconds=30),
        )
        note = Notification(
            key=f"{plan_id}:test",
            plan_id=plan_id,
            kind="alert",
            to_id="tm-1",
            to_role="team-manager",
            subject="s",
            body="b",
            created_at=workflow.now(),
        )
        result = await workflow.execute_activity(
            "notify",
            NotifyBatch(plan_id=plan_id, notifications=[note]),
            result_type=NotifyResult,
            start_to_close_timeout=timedelta(seconds=30),
        )
        assert result.delivered == [note.key]
        return context.non_working_days


def test_the_plan_workflow_is_registered() -> None:
    assert "ChildProtectionPlan" in [cls.__name__ for cls in workflow_classes()]


async def test_the_worker_builds_and_serves_the_activities(
    temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.delenv("CPPLAN_TASK_QUEUE", raising=False)
    client = await connect(address=target(temporal))

    # Built with the real workflows: the sandbox validates each of them here.
    assert build_worker(client).task_queue == "child-protection-plans"

    worker = build_worker(
        client,
        task_queue="test-activities",
        workflows=[CallsActivitiesByName],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        days = await client.execute_workflow(
            CallsActivitiesByName.run,
            "P-9",
            id="test-activities-P-9",
            task_queue="test-activities",
            result_type=list[date],
        )

    assert date(2026, 6, 5) in days
    assert [row["state"] for row in list_outbox("P-9")] == ["recorded"]


async def test_run_worker_stops_gracefully_on_sigterm(temporal: WorkflowEnvironment, restore_logging: None) -> None:
    configure_logging()  # done first, so run_worker's own call leaves the log capture in place
    with capture_logs() as events:
        running = asyncio.create_task(run_worker(address=target(temporal), task_queue="test-sigterm"))
        for _ in range(200):
            if any(e["event"] == "worker started" for e in events) or running.done():
                break
            await asyncio.sleep(0.05)
        assert not running.done(), running.exception()

        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, timeout=10)

    assert [e["event"] for e in events if e["event"].startswith("worker")] == [
        "worker started",
        "worker stopping",
        "worker stopped",
    ]
    assert asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM) is False  # handler removed
