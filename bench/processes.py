"""The bench's child processes, so that their memory, CPU and imports are their own:

- `python -m bench.processes worker ...`: the production worker (`build_worker`, the production
  workflows and activities) plus `BenchTrivial`, until SIGTERM; prints READY_LINE once it polls.
- `python -m bench.processes replay FILE`: replays saved histories as a restarted worker would,
  turn about with the SDK's floor for them (bench.floor), and prints how long each replay took
  as one JSON line.
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
    """Replay every history in `path` as a restarted worker would (with the worker's runner,
    `CPPLAN_WORKFLOW_RUNNER`, and data converter): each one a cache miss, every event replayed.
    The file holds the plans' histories (`plans`: each plan's runs), the SDK's floor for them
    (`floor`: bench.floor, replayed with the same runner and the SDK's default converter) and
    `repeats`. The two are replayed turn about (who goes first swapped every round), `repeats`
    times. One short history of each is replayed first and timed apart: importing the workflow
    code and building the sandbox happens once per worker process, not once per plan."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from bench.rounds import turns
    from bench.sdk_costs import Steps
    from worker.client import worker_data_converter
    from worker.main import workflow_classes, workflow_runner

    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)

    def histories(key: str) -> list[list[WorkflowHistory]]:
        """Each plan's runs (or the floor for them)."""
        return [
            [WorkflowHistory.from_json(item["workflow_id"], item["history"]) for item in runs]
            for runs in saved.get(key, [])
        ]

    def plan_replayer(executor: Any = None) -> Replayer:
        return Replayer(
            workflows=workflow_classes(),
            workflow_runner=workflow_runner(),
            data_converter=worker_data_converter(),
            workflow_task_executor=executor,
        )

    sides = {
        "plans": (plan_replayer(), histories("plans")),
        "floor": (Replayer(workflows=[Steps], workflow_runner=workflow_runner()), histories("floor")),
    }
    warmup_ms: dict[str, float] = {}
    for side, (replayer, found) in sides.items():
        started = time.perf_counter()
        if found:
            await replayer.replay_workflow(found[0][0])
        warmup_ms[side] = round((time.perf_counter() - started) * 1000, 1)

    failures: dict[str, str] = {}

    async def replay_runs(side: str, plan: int, replayer: Replayer | None = None) -> float:
        """One plan's runs replayed by one side's replayer, as a restarted worker replays them."""
        replayer, found = replayer or sides[side][0], sides[side][1]
        if plan >= len(found):
            return 0.0

        async def each() -> Any:
            for history in found[plan]:
                yield history

        started = time.perf_counter()
        results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
        elapsed = (time.perf_counter() - started) * 1000
        failures.update({f"{side} {wid}": str(err) for wid, err in results.replay_failures.items()})
        return elapsed

    # Plan by plan, the plan's runs and their floor one after the other (who goes first swapped
    # each time): the two sides of a comparison are a fraction of a second apart.
    timings: dict[str, list[float]] = {"plans": [], "floor": []}
    for r in range(max(int(saved.get("repeats", 1)), 1)):
        total = {"plans": 0.0, "floor": 0.0}
        for plan in range(len(sides["plans"][1])):
            for side in turns(r + plan, "plans", "floor"):
                total[side] += await replay_runs(side, plan)
        for side, ms in total.items():
            if sides[side][1]:
                timings[side].append(round(ms, 1))
    plans = [h for runs in sides["plans"][1] for h in runs]
    floor = [h for runs in sides["floor"][1] for h in runs]
    profile = {}
    if sides["plans"][1]:
        profile = await where_the_time_goes(lambda executor: replay_runs("plans", 0, plan_replayer(executor)))
    return {
        "plans": len(sides["plans"][1]),
        "histories": len(plans),
        "events": sum(len(h.events) for h in plans),
        "floor_events": sum(len(h.events) for h in floor),
        "warmup_ms": warmup_ms["plans"],
        "floor_warmup_ms": warmup_ms["floor"],
        "total_ms": timings["plans"],
        "floor_total_ms": timings["floor"],
        "failures": [f"{wid}: {err}" for wid, err in failures.items()],
        "profile": profile,
    }


# Where a replay's time goes, by the code it runs in: the first area one of whose marks starts
# the file's path, relative to the checkout or to site-packages.
AREAS = (
    ("the plan's workflow code", ("workflows/",)),
    ("the codec (encryption)", ("worker/codec", "cryptography/")),
    ("cpplan's converter", ("worker/",)),
    ("pydantic", ("pydantic", "annotated_types/")),
    ("the SDK (and its protobuf messages)", ("temporalio/", "google/protobuf/")),
    ("json", ("json/",)),
)


def short_path(path: str) -> str:
    from bench.harness import CHECKOUT

    if "/site-packages/" in path:
        return path.rsplit("/site-packages/", 1)[1]
    if path.startswith(str(CHECKOUT) + "/"):
        return path[len(str(CHECKOUT)) + 1 :]
    return path.rsplit("/lib/python3", 1)[-1].split("/", 1)[-1]  # the standard library's own


# Native functions (no file) by what they belong to.
NATIVE = (
    ("the SDK (and its protobuf messages)", ("WorkerRef", "HistoryPusher", "temporal_sdk_bridge", "google._upb")),
    ("pydantic", ("pydantic_core",)),
)


def area_of(where: str, name: str) -> str:
    marks = AREAS if where != "~" else NATIVE
    found = where if where != "~" else name
    for area, starts in marks:
        if found.startswith(starts) if where != "~" else any(m in found for m in starts):
            return area
    return "other (asyncio, the standard library)"


# Time spent waiting (for the other thread, for the queue), not working: left out of the shares.
WAITING = ("poll' of 'select.", "acquire' of '_thread.lock", "get' of '_queue.SimpleQueue", "'select'")


async def where_the_time_goes(replay: Any) -> dict[str, Any]:
    """One more replay (not in the timings) under the profiler, in this thread (the event loop:
    the codec, the SDK's core) and in the thread that runs the workflow code (`replay` is given
    the executor to replay with): the share of its working time in each area of code (AREAS, by
    own time) and the functions that took most. The profiler slows Python code more than native
    code: shares, not milliseconds."""
    import cProfile
    import pstats
    from concurrent.futures import ThreadPoolExecutor

    # CPU time of the profiled thread, not wall time: on a shared machine a thread waiting for a
    # core would otherwise charge the wait to whatever it was running.
    in_thread = cProfile.Profile(time.thread_time)
    executor = ThreadPoolExecutor(max_workers=1, initializer=in_thread.enable)
    here = cProfile.Profile(time.thread_time)
    here.enable()
    try:
        await replay(executor)
    finally:
        here.disable()
        executor.submit(in_thread.disable).result()
        executor.shutdown()
    merged = pstats.Stats(here)
    merged.add(in_thread)
    stats = {k: v for k, v in merged.stats.items() if not any(w in k[2] for w in WAITING)}  # type: ignore[attr-defined]
    total = sum(row[2] for row in stats.values()) or 1.0
    shares: dict[str, float] = {}
    for (path, _line, name), row in stats.items():
        area = area_of(short_path(path), name)
        shares[area] = shares.get(area, 0.0) + row[2]
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:10]
    return {
        "share_of_own_time": {a: round(100 * t / total, 1) for a, t in sorted(shares.items(), key=lambda i: -i[1])},
        "top_functions": [
            f"{short_path(path)}:{name} {round(100 * row[2] / total, 1)}%" for (path, _line, name), row in top
        ],
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
