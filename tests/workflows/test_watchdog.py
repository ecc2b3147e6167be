"""The watchdog against the real (time-skipping) server and the real worker: a terminated plan,
a plan whose workflow task keeps failing, each told once to ops and the team manager, and a
workflow started under another plan's id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

import workflows
from activities.db import get_engine, plans
from activities.plan_health import check_plans
from activities.read_model import get_plan_status, list_outbox
from starters.cases import today_in_london
from tests.helpers import eventually, plan_doc, running_worker, start_plan_workflow
from workflows.watchdog import WATCHDOG_TYPE


async def saved_active(plan_id: str) -> dict[str, Any]:
    status = get_plan_status(plan_id)
    assert status is not None and status["state"] == "active"
    return status


async def _sweep(env: WorkflowEnvironment, task_queue: str) -> dict[str, Any]:
    return await env.client.execute_workflow(
        WATCHDOG_TYPE, id=f"watchdog-{uuid.uuid4().hex[:8]}", task_queue=task_queue, result_type=dict
    )


def _execution_status(plan_id: str) -> str | None:
    with get_engine().connect() as conn:
        return conn.execute(sa.select(plans.c.execution_status).where(plans.c.plan_id == plan_id)).scalar()


async def test_watchdog_tells_ops_and_team_manager_once_of_a_terminated_plan(
    env: WorkflowEnvironment, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPPLAN_OPS_EMAIL", "ops@example.org")
    today = today_in_london().isoformat()
    stopped = plan_doc(today, team_manager={"id": "tm-7", "role": "team-manager", "email": "tm-7@example.org"})
    healthy = plan_doc(today)
    async with running_worker(env) as task_queue:
        handle = await start_plan_workflow(env.client, stopped, task_queue=task_queue)
        await start_plan_workflow(env.client, healthy, task_queue=task_queue)
        await eventually(lambda: saved_active(stopped["plan_id"]))
        await eventually(lambda: saved_active(healthy["plan_id"]))
        await handle.terminate(reason="ops test")

        report = await _sweep(env, task_queue)
        assert report["checked"] == 2
        assert [(f["plan_id"], f["problem"]) for f in report["findings"]] == [(stopped["plan_id"], "terminated")]
        assert report["findings"][0]["since"]  # when it was terminated
        assert _execution_status(stopped["plan_id"]) == "terminated"
        assert _execution_status(healthy["plan_id"]) == "running"

        notices = [r for r in list_outbox(stopped["plan_id"], include_content=True) if ":watchdog:" in r["key"]]
        assert sorted((r["to_id"], r["to_email"]) for r in notices) == [
            ("ops", "ops@example.org"),
            ("tm-7", "tm-7@example.org"),
        ]
        assert all(r["state"] == "recorded" and handle.id in r["body"] for r in notices)
        assert all(stopped["child_ref"] not in r["body"] + r["subject"] for r in notices)

        # The next sweep finds it again but tells nobody twice.
        again = await _sweep(env, task_queue)
        assert [f["plan_id"] for f in again["findings"]] == [stopped["plan_id"]]
        after = [r for r in list_outbox(stopped["plan_id"]) if ":watchdog:" in r["key"]]
        assert len(after) == 2
        assert not [r for r in list_outbox(healthy["plan_id"]) if ":watchdog:" in r["key"]]


def copy_plan_row(source: str, plan_id: str) -> None:
    """A read-model row saying `plan_id` is active (its broken workflow never saved one)."""
    with get_engine().begin() as conn:
        row = conn.execute(sa.select(plans).where(plans.c.plan_id == source)).mappings().one()
        conn.execute(plans.insert().values({**row, "plan_id": plan_id}))


@workflow.defn(name=workflows.WORKFLOW_TYPE)
class BrokenPlan:
    """A plan whose code fails every workflow task (a bad deploy)."""

    @workflow.run
    async def run(self, start: Any) -> None:
        raise RuntimeError("bug in the plan's code")


async def test_watchdog_finds_a_plan_whose_workflow_task_keeps_failing(env: WorkflowEnvironment, db_url: str) -> None:
    today = today_in_london().isoformat()
    doc = plan_doc(today)
    async with running_worker(env) as task_queue:
        await start_plan_workflow(env.client, doc, task_queue=task_queue)
        await eventually(lambda: saved_active(doc["plan_id"]))
        # Another plan, on a worker with broken code: its task fails, again and again.
        async with running_worker(
            env, workflows=[BrokenPlan], workflow_runner=UnsandboxedWorkflowRunner()
        ) as broken_queue:
            broken = plan_doc(today, plan_id=f"{doc['plan_id']}-b")
            await start_plan_workflow(env.client, broken, task_queue=broken_queue)
            copy_plan_row(doc["plan_id"], broken["plan_id"])

            async def failing() -> list[Any]:
                _, findings = await check_plans(env.client)
                assert [(f.plan_id, f.problem) for f in findings] == [(broken["plan_id"], "workflow-task-failing")]
                return findings

            findings = await eventually(failing, timeout=30)
            assert findings[0].since is not None


async def test_a_workflow_started_under_another_plans_id_refuses_to_run(env: WorkflowEnvironment, db_url: str) -> None:
    today = today_in_london().isoformat()
    victim = plan_doc(today)
    async with running_worker(env) as task_queue:
        handle = await env.client.start_workflow(
            workflows.WORKFLOW_TYPE, victim, id=workflows.workflow_id("someone-else"), task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidPlanStart"
    assert "does not belong to workflow cp-plan-someone-else" in cause.message
    assert get_plan_status(victim["plan_id"]) is None
