"""The bench's command line (`python -m bench`, `cpplan bench` in a checkout): its arguments,
and the run that takes the phases in turn. The method is at the top of `bench.harness`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report as figures
from bench import rounds
from bench.harness import (
    BenchError,
    Outbox,
    PhaseClock,
    Progress,
    Server,
    WorkerGroup,
    bench_environment,
    child_env,
    delivery_counts,
    machine_info,
    quiet_sdk_runtime,
    rounded,
    sdk_default_cache,
    start_server,
    terminate,
)
from bench.workloads import Starter, start_many, wait_settled, wake_figures

DEFAULT_PLANS = 300
DEFAULT_YEAR_PLANS = 3
DEFAULT_CONCURRENCY = 32
DEFAULT_WAKE_PLANS = 200
WARM_PLANS = 3
YEAR_TIMEOUT_S = 900


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The bench's options. Its own --address, not $TEMPORAL_ADDRESS: a bench only uses a server
    it is pointed at. Longer than most functions: one call per option, read as a list."""
    p.add_argument("--address", default=None, help="an existing Temporal server (default: an embedded dev server)")
    p.add_argument("--namespace", default=None, help="its namespace (default: default)")
    p.add_argument(
        "--plans",
        type=int,
        default=DEFAULT_PLANS,
        help=f"plans (and trivial workflows) to start in each round of the start rate (default {DEFAULT_PLANS})",
    )
    p.add_argument(
        "--storm-plans", type=int, default=None, help="plans whose reminders fall due together (default: --plans)"
    )
    p.add_argument(
        "--running-plans",
        type=int,
        default=0,
        help="more plans started before the storm, running but not due, so the storm happens among them (default 0)",
    )
    p.add_argument(
        "--trivial-plans",
        type=int,
        default=None,
        help="one-timer workflows started for the yardstick rate (default: --plans); a rate needs no more than a few thousand",
    )
    p.add_argument(
        "--wake-plans",
        type=int,
        default=None,
        help=f"plans woken for the wake figures, not cached then cached (default: --plans, at most {DEFAULT_WAKE_PLANS}; 0 skips)",
    )
    p.add_argument(
        "--year-plans",
        type=int,
        default=DEFAULT_YEAR_PLANS,
        help=f"plans lived through a year on the test server for events and replay (default {DEFAULT_YEAR_PLANS}; 0 skips)",
    )
    p.add_argument("--year-days", type=int, default=365, help=argparse.SUPPRESS)
    p.add_argument(
        "--repeats",
        type=int,
        default=rounds.DEFAULT_REPEATS,
        help=f"rounds of each comparison with a yardstick, the two sides interleaved; medians reported "
        f"(default {rounds.DEFAULT_REPEATS})",
    )
    p.add_argument(
        "--caseload",
        type=int,
        default=figures.TARGET_FLEET,
        help=f"plans the capacity model projects for (default {figures.TARGET_FLEET:,}); projections, not measurements",
    )
    p.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help=f"starts in flight (default {DEFAULT_CONCURRENCY})"
    )
    p.add_argument(
        "--server-db",
        choices=("file", "memory"),
        default="file",
        help="the embedded dev server's SQLite: a file as `cpplan dev` keeps it (default), or memory",
    )
    p.add_argument(
        "--worker-processes",
        type=int,
        default=1,
        help="worker processes on the bench's task queue, as `cpplan worker --processes N` runs them (default 1)",
    )
    p.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="the bench worker's workflow cache (default: the worker's own, as production runs it)",
    )
    p.add_argument(
        "--storm-timeout", type=float, default=1200.0, help="give up draining the storm after this many seconds"
    )
    p.add_argument(
        "--json", action="store_true", help="print the figures as one JSON object (progress stays on stderr)"
    )


@dataclass
class Sizes:
    plans: int
    storm: int
    trivial: int
    running: int
    wake: int
    repeats: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> Sizes:
        n = args.plans
        wake = min(n, DEFAULT_WAKE_PLANS) if args.wake_plans is None else args.wake_plans
        sizes = cls(
            plans=n,
            storm=n if args.storm_plans is None else args.storm_plans,
            trivial=n if args.trivial_plans is None else args.trivial_plans,
            running=args.running_plans,
            wake=wake,
            repeats=args.repeats,
        )
        least = (sizes.plans, sizes.storm, sizes.trivial, args.concurrency, args.caseload, args.worker_processes)
        if min(*least, sizes.repeats) < 1:
            raise BenchError(
                "--plans, --storm-plans, --trivial-plans, --concurrency, --caseload, --worker-processes and "
                "--repeats must be at least 1"
            )
        if min(args.year_plans, sizes.running, sizes.wake) < 0:
            raise BenchError("--year-plans, --running-plans and --wake-plans must be at least 0")
        if sizes.wake > sizes.plans:
            raise BenchError("--wake-plans wakes plans of --plans: at most --plans")
        return sizes


@dataclass
class DevServerRun:
    """The phases on the dev server (start rate, storm, wakes), in order, sharing one server,
    one worker process and the run's figures."""

    args: argparse.Namespace
    sizes: Sizes
    tmp: Path
    task_queue: str
    progress: Progress
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    report: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, Any] = field(default_factory=dict)
    cleanup_ids: list[str] = field(default_factory=list)
    server: Server | None = None
    worker: WorkerGroup | None = None

    async def run(self) -> None:
        outbox = Outbox(self.tmp / "read-model.db")
        try:
            await self.start_server()
            await self.start_worker()
            starter = self.starter()
            warm = await self.warm_up(starter)
            started = await self.start_rate(starter)
            await self.running_plans(starter)
            await self.storm(starter, started, outbox)
            await self.worker_figures()
            if self.sizes.wake:
                await self.wakes(started[: self.sizes.wake], warm)
            if self.args.address and self.cleanup_ids:
                self.progress.phase("cleaning up the bench's workflows", len(self.cleanup_ids))
                await terminate(self.starter().client, self.cleanup_ids, self.progress)
                self.progress.end()
        finally:
            outbox.close()
            if self.worker is not None:
                await self.worker.stop()
            if self.server is not None:
                await self.server.stop()

    async def start_server(self) -> None:
        self.progress.phase("server: starting")
        self.server = await start_server(self.args.address, self.args.namespace, self.args.server_db, self.tmp)
        self.report["server"] = self.server.description
        self.progress.end(self.server.description)

    async def start_worker(self) -> None:
        assert self.server is not None
        self.progress.phase("worker: starting")
        env = child_env({"CPPLAN_LOG_LEVEL": "INFO", "CPPLAN_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"})
        cache = self.args.max_cached_workflows
        worker = WorkerGroup(
            self.args.worker_processes,
            self.server.address,
            self.server.namespace,
            self.task_queue,
            self.tmp,
            env,
            cache,
        )
        self.report["worker_max_cached_workflows"] = cache or sdk_default_cache()
        await worker.start()
        self.worker = worker
        self.report["worker_processes"] = self.args.worker_processes
        self.progress.end(f"pid {', '.join(map(str, worker.pids)) or '?'}, task queue {self.task_queue}")

    def starter(self) -> Starter:
        from workflows.calendar import local_date

        assert self.server is not None
        return Starter(self.server.client, self.run_tag, self.task_queue, local_date(datetime.now(UTC)))

    async def warm_up(self, starter: Starter) -> list[str]:
        """The first workflow of each type imports its code in the worker: not in the figures."""
        self.progress.phase("warm-up", 2 * WARM_PLANS)
        warm = [await starter.trivial(i, "wt") for i in range(WARM_PLANS)]
        plans = [await starter.today_plan(i, "wp") for i in range(WARM_PLANS)]
        self.cleanup_ids += warm + plans
        await wait_settled(starter.client, warm + plans, self.progress, timeout=120)
        self.progress.end()
        return plans

    async def start_rate(self, starter: Starter) -> list[str]:
        """--repeats rounds, each a batch of one-timer workflows and a batch of plans started the
        same way, the two in turn (who goes first swapped every round: bench.rounds); each
        round's ratio of the two rates, and their median. Returns every plan's id."""
        concurrency, n = self.args.concurrency, self.sizes.repeats
        rates: dict[str, list[float]] = {"trivial": [], "plans": []}
        accepts: dict[str, list[float]] = {"trivial": [], "plans": []}
        cpu: dict[str, float] = {"trivial": 0.0, "plans": 0.0}
        wall: dict[str, float] = {"trivial": 0.0, "plans": 0.0}
        plan_ids: list[str] = []
        for r in range(n):
            for side in rounds.turns(r, "trivial", "plans"):
                if side == "trivial":
                    size, start_one = self.sizes.trivial, lambda i, r=r: starter.trivial(i, f"t{r}-")
                else:
                    size, start_one = self.sizes.plans, lambda i, r=r: starter.today_plan(i, f"p{r}-")
                with PhaseClock(self.worker) as clock:
                    found = await start_many(
                        size, start_one, starter.client, concurrency, self.progress, f"{side} (round {r + 1}/{n})"
                    )
                rates[side].append(found.settle_rate)
                accepts[side].append(found.accept_rate)
                wall[side] += clock.result["wall_s"]
                cpu[side] += clock.result.get("worker_cpu_s") or 0.0
                self.cleanup_ids += list(found.settled)
                if side == "plans":
                    plan_ids += list(found.settled)
        self.phases["start_trivial"] = {"wall_s": round(wall["trivial"], 2), "worker_cpu_s": round(cpu["trivial"], 2)}
        self.phases["start_plans"] = {"wall_s": round(wall["plans"], 2), "worker_cpu_s": round(cpu["plans"], 2)}
        ratio = rounds.summary(rounds.ratios(rates["plans"], rates["trivial"]))
        accept = rounds.summary(rounds.ratios(accepts["plans"], accepts["trivial"]))
        plan_rate = rounds.summary(rates["plans"], 1)
        trivial_rate = rounds.summary(rates["trivial"], 1)
        per_plan = 1000 * cpu["plans"] / (n * self.sizes.plans)
        per_trivial = 1000 * cpu["trivial"] / (n * self.sizes.trivial)
        self.report.update(
            {
                "start_rate_plans_per_s": plan_rate["median"],
                "trivial_start_rate_per_s": trivial_rate["median"],
                "start_ratio_vs_trivial": ratio["median"],
                "start_ratio_spread": ratio["spread"],
                "start_ratio_rounds": ratio["rounds"],
                "start_rate_plans_per_s_rounds": plan_rate["rounds"],
                "trivial_start_rate_per_s_rounds": trivial_rate["rounds"],
                "start_accept_ratio_vs_trivial": accept["median"],
                "start_accept_ratio_spread": accept["spread"],
                "start_worker_cpu_ms_per_plan": round(per_plan, 2),
                "start_worker_cpu_ms_per_trivial": round(per_trivial, 2),
                "start_repeats": n,
                "concurrency": concurrency,
                "trivial_plans": self.sizes.trivial,
            }
        )
        self.plan_rate = float(plan_rate["median"] or 0.0)
        return plan_ids

    async def running_plans(self, starter: Starter) -> None:
        """--running-plans more plans, not due during the storm: the storm happens among them."""
        self.report["running_plans"] = self.sizes.running
        started = self.sizes.repeats * self.sizes.plans
        self.report["storm_among_running_plans"] = self.sizes.running + started + WARM_PLANS
        if not self.sizes.running:
            return
        with PhaseClock(self.worker) as clock:
            running = await start_many(
                self.sizes.running,
                lambda i: starter.today_plan(i, "r"),
                starter.client,
                self.args.concurrency,
                self.progress,
                "running plans",
            )
        self.phases["start_running"] = clock.result
        self.cleanup_ids += list(running.settled)

    async def storm(self, starter: Starter, started: list[str], outbox: Outbox) -> None:
        from bench.storm import run_storm

        assert self.worker is not None
        storm = await run_storm(
            starter,
            self.sizes.storm,
            self.plan_rate,
            self.args.concurrency,
            self.args.storm_timeout,
            outbox,
            self.worker,
            self.progress,
            self.phases,
        )
        self.cleanup_ids += storm.pop("_ids")
        self.report.update(storm)

    async def worker_figures(self) -> None:
        """Peak memory over the start and storm phases, then the deliveries in the worker's log;
        the worker stops here (the wakes start it afresh)."""
        assert self.worker is not None
        self.report["worker_peak_rss_mb"] = rounded(self.worker.peak_rss_mb())
        self.report["worker_rss_end_mb"] = rounded(self.worker.rss_mb())
        await self.worker.stop()
        if self.report["worker_peak_rss_mb"] is None:
            self.report["worker_peak_rss_mb"] = rounded(self.worker.max_rss_mb)
        log_duplicates, suppressed = delivery_counts(self.worker.log_paths)
        self.report["duplicate_deliveries_in_log"] = log_duplicates
        self.report["redeliveries_suppressed"] = suppressed
        self.report["duplicate_notifications"] = self.report.pop("_duplicate_rows") + log_duplicates

    async def wakes(self, ids: list[str], warm: list[str]) -> None:
        """A fresh worker (its cache empty) for the wake figures. The second round must find
        every plan of the first still cached: no more plans than the cache holds."""
        cache = self.report.get("worker_max_cached_workflows")
        if cache and len(ids) + len(warm) > cache:
            ids = ids[: max(cache - len(warm), 0)]
            self.report["wake_note"] = f"wake plans cut to {len(ids)}: the worker's cache holds {cache}"
        if not ids:
            self.report["wake_error"] = f"the worker's cache ({cache}) is too small for the wake figures"
            return
        await self.start_worker()
        assert self.worker is not None
        starter = self.starter()
        with PhaseClock(self.worker) as clock:
            found = await wake_figures(
                self.worker,
                starter.client,
                ids,
                warm,
                starter.today,
                self.args.concurrency,
                self.progress,
                self.sizes.repeats,
            )
        self.phases["wakes"] = clock.result
        self.report.update(found)


async def year_phase(args: argparse.Namespace, tmp: Path, progress: Progress, phases: dict[str, Any]) -> dict[str, Any]:
    """The plan-year and its replay; a failure here leaves the other figures standing."""
    from bench.year import plan_year

    if not args.year_plans:
        return {"skipped_year": "--year-plans 0"}
    try:
        with PhaseClock(None) as clock:
            year = await asyncio.wait_for(
                plan_year(tmp, args.year_plans, args.year_days, progress, args.repeats), YEAR_TIMEOUT_S
            )
    except (Exception, TimeoutError) as err:
        progress.end("failed")
        year = {"plan_year_error": " ".join(f"{type(err).__name__}: {err}".split())[:300]}
    phases["plan_year"] = clock.result
    return year


async def bench(args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    """Every phase in turn, in a temporary directory of the run's own; the figures, ordered."""
    from worker.logging import configure_logging

    sizes = Sizes.of(args)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cpplan-bench-") as tmp_name:
        tmp = Path(tmp_name)
        run = DevServerRun(args, sizes, tmp, "", progress)
        run.task_queue = f"cpplan-bench-{run.run_tag}"
        with bench_environment(tmp, run.task_queue):
            configure_logging()
            quiet_sdk_runtime()
            run.report["plans"] = sizes.plans
            await run.run()
            run.report.update(await year_phase(args, tmp, progress, run.phases))
    report = run.report
    report["phases"] = run.phases
    report["duration_s"] = round(time.monotonic() - began, 1)
    report["machine"] = machine_info()
    report["cost_per_child"] = figures.cost_per_child(report)
    report["capacity"] = figures.capacity(report, args.caseload)
    report["targets"] = figures.targets(report)
    report["reported_not_targets"] = figures.reported(report)
    report["method"] = figures.METHOD
    return figures.ordered(report)


def run(args: argparse.Namespace) -> int:
    """Run the bench with parsed arguments; returns the exit status."""
    progress = Progress()
    try:
        report = asyncio.run(bench(args, progress))
    except BenchError as err:
        progress.end("failed")
        print(f"cpplan bench: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        progress.end("interrupted")
        return 130
    progress.end()
    print(json.dumps(report, indent=2) if args.json else figures.render(report))
    return 0


def main(argv: list[str] | None = None, prog: str = "python -m bench") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description="measure start rate, a reminder storm, wakes, history size, replay time and memory"
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
