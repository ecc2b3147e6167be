"""`python -m bench.sdk_costs`: a minimal reproduction of two per-workflow-task costs in the
Temporal Python SDK's workflow sandbox, with nothing of cpplan in it (docs/sdk-costs.md).

One workflow, `Steps`, runs K rounds of a local activity and a timer. Its history is recorded
once on the time-skipping test server, then replayed R times by the SDK's `Replayer` with:
- the default sandbox, steps with `summary=`;
- the default sandbox, steps without `summary=` (a second history);
- the sandbox with every module passed through;
- no sandbox.
Printed: milliseconds per workflow task for each, and, for the default sandbox, how many times
per workflow task the worker called the sandbox's `get_serialization_context` (each call `exec`s
a source string inside the sandbox's import hooks) and the time spent in those calls.

Only `temporalio` (and the standard library) is imported at module level: the sandbox imports this
module again for every workflow run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

ROUNDS = 20


@activity.defn
async def step(n: int) -> int:
    return n


@workflow.defn
class Steps:
    @workflow.run
    async def run(self, rounds: int, summaries: bool) -> int:
        total = 0
        for n in range(rounds):
            total += await workflow.execute_local_activity(
                step,
                n,
                start_to_close_timeout=timedelta(seconds=10),
                summary=f"step {n}" if summaries else None,
            )
            await workflow.sleep(timedelta(minutes=1), summary=f"wait after step {n}" if summaries else None)
        return total


def main() -> int:
    import argparse
    import asyncio
    import json

    p = argparse.ArgumentParser(prog="python -m bench.sdk_costs", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=ROUNDS, help="local activity + timer rounds per workflow")
    p.add_argument("--replays", type=int, default=30, help="replays of each history")
    args = p.parse_args()
    print(json.dumps(asyncio.run(measure(args.rounds, args.replays)), indent=2))
    return 0


async def measure(rounds: int, replays: int) -> dict[str, object]:
    import shutil
    import sys
    import time
    import uuid
    from pathlib import Path

    from temporalio.client import WorkflowHistory
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
    from temporalio.worker.workflow_sandbox import _runner as sandbox_runner_module

    beside = Path(sys.executable).parent / "temporal-test-server"
    server = str(beside) if beside.is_file() else shutil.which("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=server)
    histories: dict[bool, WorkflowHistory] = {}
    try:
        async with Worker(
            env.client,
            task_queue="sdk-costs",
            workflows=[Steps],
            activities=[step],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            for summaries in (True, False):
                handle = await env.client.start_workflow(
                    Steps.run, args=[rounds, summaries], id=f"steps-{uuid.uuid4().hex[:8]}", task_queue="sdk-costs"
                )
                await handle.result()
                histories[summaries] = await handle.fetch_history()
    finally:
        await env.shutdown()

    tasks = sum(1 for e in histories[True].events if e.HasField("workflow_task_completed_event_attributes"))
    calls = {"n": 0, "s": 0.0}
    original = sandbox_runner_module._Instance.get_serialization_context

    def counted(self, command_info):
        began = time.perf_counter()
        try:
            return original(self, command_info)
        finally:
            calls["n"] += 1
            calls["s"] += time.perf_counter() - began

    async def per_task_ms(runner: object, history: WorkflowHistory) -> float:
        replayer = Replayer(workflows=[Steps], workflow_runner=runner)  # type: ignore[arg-type]
        await replayer.replay_workflow(history)  # warm: imports, sandbox set-up
        began = time.perf_counter()
        for _ in range(replays):
            await replayer.replay_workflow(history)
        return round((time.perf_counter() - began) * 1000 / replays / tasks, 3)

    sandboxed = SandboxedWorkflowRunner()
    passthrough = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())
    results: dict[str, object] = {"workflow_tasks_per_replay": tasks, "replays": replays}
    sandbox_runner_module._Instance.get_serialization_context = counted  # type: ignore[method-assign]
    try:
        results["sandboxed_ms_per_task"] = await per_task_ms(sandboxed, histories[True])
        counted_calls, counted_s = calls["n"], calls["s"]
    finally:
        sandbox_runner_module._Instance.get_serialization_context = original  # type: ignore[method-assign]
    per_replay = replays + 1
    results["serialization_context_calls_per_task"] = round(counted_calls / per_replay / tasks, 2)
    results["serialization_context_ms_per_task"] = round(counted_s * 1000 / per_replay / tasks, 3)
    results["sandboxed_no_summaries_ms_per_task"] = await per_task_ms(sandboxed, histories[False])
    results["passthrough_ms_per_task"] = await per_task_ms(passthrough, histories[True])
    results["unsandboxed_ms_per_task"] = await per_task_ms(UnsandboxedWorkflowRunner(), histories[True])
    return results


if __name__ == "__main__":
    # Run from the module imported by name: the sandbox cannot import a workflow from `__main__`.
    from bench import sdk_costs

    raise SystemExit(sdk_costs.main())
