"""`cpplan worker --processes 2` against a real dev server: both processes poll the task queue,
plans started through `start_plan` progress, and SIGTERM to the supervisor stops all of it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

from activities.read_model import get_plan_status
from starters.cases import query_status, start_plan
from tests.helpers import eventually


async def _poller_pids(env: WorkflowEnvironment) -> set[int]:
    """The process ids of the workers polling the plans' workflow task queue (an SDK worker's
    identity is `pid@host`)."""
    request = DescribeTaskQueueRequest(
        namespace=env.client.namespace,
        task_queue=TaskQueue(name=os.environ["CPPLAN_TASK_QUEUE"]),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await env.client.workflow_service.describe_task_queue(request)
    return {int(p.identity.split("@", 1)[0]) for p in response.pollers if p.identity.split("@", 1)[0].isdigit()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_worker_processes_run_plans_and_stop_on_sigterm(
    bare_dev_server: WorkflowEnvironment, demo_doc, tmp_path: Path
):
    env = bare_dev_server
    address = env.client.service_client.config.target_host
    cpplan = str(Path(sys.executable).parent / "cpplan")
    log_path = tmp_path / "worker.log"
    with open(log_path, "w", encoding="utf-8") as log_file:
        supervisor = subprocess.Popen(
            [cpplan, "worker", "--processes", "2", "--address", address], stdout=log_file, stderr=subprocess.STDOUT
        )
    try:

        async def two_pollers() -> set[int]:
            pids = await _poller_pids(env)
            assert len(pids) >= 2, pids
            return pids

        pids = await eventually(two_pollers, timeout=60, interval=0.5)
        assert supervisor.pid not in pids  # the supervisor itself runs no worker

        plan_ids: list[str] = []
        for n in range(4):
            doc: dict[str, Any] = {**demo_doc, "plan_id": f"{demo_doc['plan_id']}-{n}"}
            await start_plan(env.client, doc)
            plan_ids.append(doc["plan_id"])

        async def progressed(plan_id: str) -> None:
            status = (await query_status(env.client, plan_id, timeout=5)).as_json()
            assert status["state"] == "active" and status["obligations"], status
            assert get_plan_status(plan_id) is not None, "not saved to the read model"

        for plan_id in plan_ids:
            await eventually(lambda plan_id=plan_id: progressed(plan_id), timeout=60, interval=0.5)

        supervisor.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(supervisor.wait, 60)
        log = log_path.read_text(encoding="utf-8")
        assert code == 0, log[-2000:]
        assert not [pid for pid in pids if _alive(pid)], "a worker process outlived its supervisor"
        assert log.count("worker stopped") >= 2 and "worker processes stopped" in log, log[-2000:]
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
