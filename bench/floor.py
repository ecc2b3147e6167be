"""The SDK's own floor for replay: for every run of the plan-year, a run of `bench.sdk_costs.Steps`
(a local activity and a timer a round, nothing of cpplan, no codec) with as many workflow tasks,
recorded on the same time-skipping server. Replayed in the same fresh process as the plans'
histories, turn about (bench.processes), it says what any workflow with that many tasks costs
to replay on this machine at this moment: the plan's replay is judged against it.

A `Steps` run of K rounds completes K + 1 workflow tasks: the first schedules the first local
activity, each timer's firing the next, the last completes the workflow."""

from __future__ import annotations

import uuid
from typing import Any

FLOOR_QUEUE = "cpplan-bench-floor"


def workflow_tasks(history: Any) -> int:
    return sum(1 for e in history.events if e.HasField("workflow_task_completed_event_attributes"))


async def record_floor(server: str, task_counts: list[list[int]]) -> list[list[Any]]:
    """One `Steps` history per plan run (`task_counts[plan][run]` workflow tasks each), on a
    time-skipping server of its own (the plans left running on the plan-year's would hold its
    clock back), through a client with the SDK's default data converter (no codec)."""
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=server)
    try:
        return await _record(env.client, task_counts)
    finally:
        await env.shutdown()


async def _record(client: Any, task_counts: list[list[int]]) -> list[list[Any]]:
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    from bench.sdk_costs import Steps, step

    tag = uuid.uuid4().hex[:8]
    out: list[list[Any]] = []
    async with Worker(
        client,
        task_queue=FLOOR_QUEUE,
        workflows=[Steps],
        activities=[step],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for p, counts in enumerate(task_counts):
            runs = []
            for r, tasks in enumerate(counts):
                handle = await client.start_workflow(
                    Steps.run, args=[max(tasks - 1, 0), False], id=f"floor-{tag}-{p}-{r}", task_queue=FLOOR_QUEUE
                )
                await handle.result()
                runs.append(await handle.fetch_history())
            out.append(runs)
    return out
