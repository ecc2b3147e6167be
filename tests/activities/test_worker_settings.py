"""The worker's settings from the environment: sticky timeout, task slots and pollers, and the
workflow runner (the tests' own workers always run the full sandbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.client import connect
from worker.main import STICKY_TIMEOUT, build_worker
from worker.runner import RunnerSettingError, runner_name, workflow_runner


async def test_settings_reach_the_worker(
    temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    client = await connect(address=temporal.client.service_client.config.target_host)
    for name in ("CPPLAN_STICKY_TIMEOUT", "CPPLAN_WORKFLOW_TASK_POLLERS", "CPPLAN_WORKFLOW_TASK_SLOTS"):
        monkeypatch.delenv(name, raising=False)
    config = build_worker(client, task_queue="settings-default").config()
    assert config["sticky_queue_schedule_to_start_timeout"] == STICKY_TIMEOUT == timedelta(seconds=60)
    assert config["max_concurrent_workflow_tasks"] == 10
    assert isinstance(config["workflow_runner"], SandboxedWorkflowRunner)  # the tests' guard

    monkeypatch.setenv("CPPLAN_STICKY_TIMEOUT", "90")
    monkeypatch.setenv("CPPLAN_WORKFLOW_TASK_POLLERS", "3")
    monkeypatch.setenv("CPPLAN_WORKFLOW_TASK_SLOTS", "4")
    config = build_worker(client, task_queue="settings-given").config()
    assert config["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=90)
    assert config["max_concurrent_workflow_task_polls"] == 3
    assert config["max_concurrent_workflow_tasks"] == 4

    monkeypatch.setenv("CPPLAN_STICKY_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="CPPLAN_STICKY_TIMEOUT"):
        build_worker(client, task_queue="settings-bad")


def test_the_runner_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner_name() == "sandboxed"  # tests/conftest.py: every test's worker runs the full sandbox
    assert isinstance(workflow_runner("unsandboxed"), UnsandboxedWorkflowRunner)
    assert isinstance(workflow_runner("passthrough"), SandboxedWorkflowRunner)
    monkeypatch.delenv("CPPLAN_WORKFLOW_RUNNER")
    assert runner_name() == "unsandboxed"  # production's default
    monkeypatch.setenv("CPPLAN_WORKFLOW_RUNNER", "none")
    with pytest.raises(RunnerSettingError, match="sandboxed, passthrough, unsandboxed"):
        runner_name()
