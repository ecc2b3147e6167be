"""The bench's child processes, so that their memory, CPU and imports are their own:

- `python -m bench.processes worker ...`: the production worker (`build_worker`, the production
  workflows and activities) plus `BenchTrivial`, until SIGTERM; prints READY_LINE once it polls.
- `python -m bench.processes replay FILE`: replays saved histories as a restarted worker would,
  and prints how long that took as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from typing import Any

from bench.harness import READY_LINE


async def serve_worker(address: str, namespace: str, task_queue: str, max_cached_workflows: int | None = None) -> None:
    """The production worker plus BenchTrivial, until SIGTERM/SIGINT."""
    from bench.yardstick import BenchTrivial
    from worker.client import connect
    from worker.logging import configure_logging
    from worker.main import build_worker, workflow_classes

    configure_logging()
    client = await connect(address, namespace)
    options = {"max_cached_workflows": max_cached_workflows} if max_cached_workflows else {}
    worker = build_worker(client, task_queue, workflows=[*workflow_classes(), BenchTrivial], **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(READY_LINE, flush=True)
        await stop.wait()


async def replay_file(path: str) -> dict[str, Any]:
    """Replay every history in `path` (`{"plans": [[history_json, ...], ...]}`) as a restarted
    worker would (with the worker's runner, `CPPLAN_WORKFLOW_RUNNER`): each one a cache miss, every event replayed. One short history is replayed
    first and timed apart: importing the workflow code and building the sandbox happens once
    per worker process, not once per plan."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from worker.client import worker_data_converter
    from worker.main import workflow_classes, workflow_runner

    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    plans = [
        [WorkflowHistory.from_json(item["workflow_id"], item["history"]) for item in runs] for runs in saved["plans"]
    ]
    replayer = Replayer(
        workflows=workflow_classes(), workflow_runner=workflow_runner(), data_converter=worker_data_converter()
    )

    warm = saved.get("warmup")
    started = time.perf_counter()
    if warm:
        await replayer.replay_workflow(WorkflowHistory.from_json(warm["workflow_id"], warm["history"]))
    warmup_ms = (time.perf_counter() - started) * 1000

    histories = [h for runs in plans for h in runs]
    started = time.perf_counter()

    async def each() -> Any:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    total_ms = (time.perf_counter() - started) * 1000
    return {
        "plans": len(plans),
        "histories": len(histories),
        "events": sum(len(h.events) for h in histories),
        "warmup_ms": round(warmup_ms, 1),
        "total_ms": round(total_ms, 1),
        "failures": [f"{wid}: {err}" for wid, err in results.replay_failures.items()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processes")
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--address", required=True)
    w.add_argument("--namespace", default="default")
    w.add_argument("--task-queue", required=True)
    w.add_argument("--max-cached-workflows", type=int, default=None)
    r = sub.add_parser("replay")
    r.add_argument("file")
    args = parser.parse_args(argv)
    if args.what == "worker":
        asyncio.run(serve_worker(args.address, args.namespace, args.task_queue, args.max_cached_workflows))
        return 0
    print(json.dumps(asyncio.run(replay_file(args.file))))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
