"""`python -m bench` (`cpplan bench` in a checkout): how the plan workflow behaves at scale,
measured in one run.

Everything runs on this machine unless `--address` names a server: an embedded Temporal dev
server (the venv's `temporal` binary, state in a temporary SQLite file, as `cpplan dev` keeps
it), the production worker (plus the `BenchTrivial` yardstick) in a process of its own, a
temporary SQLite read model and no SMTP, so every notification lands in the outbox table.
Payloads are encrypted as in production, with a key made for the run.

1. Start rate, in R rounds (`--repeats`, default 5). Each round starts N `BenchTrivial`
   workflows (one timer, nothing else) and N plans through `starters.cases.start_plan`, the
   path `cpplan start` takes, with the same client and the same number of starts in flight:
   the two batches one after the other, who goes first swapped every round (bench.rounds), so
   that a neighbour's load on a shared machine falls on both alike. A start counts once the
   worker has run it to its first wait: the time of its first TimerStarted event (the plan has
   by then loaded its profile and saved itself to the read model). Each round's ratio (plans
   per second / trivial per second); `start_ratio_vs_trivial` is their median and
   `start_ratio_spread` their interquartile range. The rate at which the server merely accepts
   the starts, and the worker's CPU per start of each, are reported too.
2. Storm. S plans (default N) whose reminders all fall due at one instant: the London profile
   with its notification time moved from 09:00 to a moment just after they have all started,
   the reminder lead made 5 working days and the first core group arranged 5 working days
   after the conference, so each plan has exactly one reminder then (the conference is today).
   The dev server's clock is real time, so this is the 09:00 storm moved to the bench's
   minute: real timers all firing together, not a simulation. `--running-plans M` first starts
   M more plans that are not due, so the storm happens among them (with the N plans of 1):
   a worker whose cache cannot hold them all wakes storm plans that are no longer in memory.
   `storm_drain_s` runs from that instant until the outbox holds every expected reminder.
   Duplicates: reminders sharing (plan, obligation, recipient), plus deliveries beyond one per
   idempotency key in the worker's log; missing and unexpected notifications are counted too.
3. Waking a plan. The worker is restarted (its cache empty) and W of the plans of 1, in R
   groups, are woken by an update (a visit recorded today: the call returns once the plan has
   taken it), each group twice in a row. The worker's CPU time (/proc/<pid>/stat) over each
   round, divided by the group's size, the medians over the groups: `miss_wake_ms` (its state
   not in the cache: the history is replayed first) and `hit_wake_ms` (cached). The worker's
   resident memory added by the first wakes, divided by W: `memory_per_cached_plan_kb`.
4. A plan-year. K plans are lived through a year on the time-skipping test server (visits,
   core groups, notes, signatures, two review conferences, an incident; see
   `bench.year.drive_year`). Their histories, every run, give `events_per_plan_year`,
   `workflow_tasks_per_plan_year` and `largest_run_events`. The SDK's floor is recorded for them
   (bench.floor: for each run, a workflow of a local activity and a timer a task with as many
   workflow tasks, no codec). A fresh process then replays both as a restarted worker must,
   plan by plan, the plan's runs and their floor in turn, R rounds: `replay_ms_per_plan_year`
   and `sdk_floor_ms_per_plan_year` (medians), `replay_ratio_vs_floor` (the median of the
   rounds' ratios); importing the workflow code once is timed apart. One more replay of one
   plan, under the profiler, says where its time goes (`replay_profile`).
5. The worker's peak resident memory (VmHWM, and ru_maxrss when it exits) over 1 and 2.
6. A capacity model for `--caseload C` plans (default 50,000), projected from the figures
   above and labelled as such: worker CPU per plan-day (workflow tasks per plan-year x
   `miss_wake_ms`), the 09:00 storm when 19% of the caseload wakes, and the starts needed;
   and `cost_per_child`, the same model stated once: worker CPU per plan-day and plan-year,
   and what a council of 1,500 plans and a country of 50,000 need.

Progress goes to stderr; `--json` prints one JSON object on stdout.

This module holds what every phase stands on: the servers, the worker process, the clients'
environment, the outbox reader and the clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from starters.binaries import venv_binary
from starters.progress import ProgressBar

ENV_KEYS = (
    "CPPLAN_DATABASE_URL",
    "CPPLAN_SMTP_URL",
    "CPPLAN_CODEC_KEYS",
    "CPPLAN_CODEC",
    "CPPLAN_POLICY_DIR",
    "CPPLAN_TASK_QUEUE",
    "CPPLAN_LOG_LEVEL",
    "CPPLAN_LOG_FORMAT",
    "CPPLAN_WATCHDOG_EVERY",
)
READY_LINE = "cpplan-bench-worker-ready"
# The checkout the bench runs from: its child processes import `bench` from here too.
CHECKOUT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A reason the bench cannot go on, fit to show in one line."""


# ---------------------------------------------------------------------- progress (stderr)


class Progress:
    """One line per phase on stderr: the command line's progress bar redrawn in place on a
    terminal, a start and an end line otherwise (logs, CI). Never touches stdout, which `--json`
    keeps for its object."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.name = ""
        self.started = 0.0
        self.bar: ProgressBar | None = None

    def phase(self, name: str, total: int | None = None) -> None:
        self.end()
        self.name = name
        self.started = time.monotonic()
        self.bar = ProgressBar(total, self.stream, enabled=self.tty, label=f"{name:<30}", elapsed=True)
        if self.tty:
            self.bar.update(force=True)
        else:
            print(f"bench: {name}" + (f" ({total})" if total else "") + " ...", file=self.stream, flush=True)

    def update(self, done: int | None = None, note: str | None = None) -> None:
        if self.bar is not None:
            self.bar.update(done, note)

    def end(self, summary: str = "") -> None:
        bar, self.bar = self.bar, None
        if bar is None:
            return
        if self.tty:
            bar.finish(summary or None)
        else:
            elapsed = time.monotonic() - self.started
            print(f"bench: {self.name}: {summary or 'done'} ({elapsed:.1f} s)", file=self.stream, flush=True)


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
    # The worker's workflow runner (worker/runner.py): the figures depend on it.
    with contextlib.suppress(Exception):
        from worker.runner import runner_name

        info["workflow_runner"] = runner_name()
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

    worker: WorkerGroup | None
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


def binary(name: str) -> str | None:
    return venv_binary(name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child that imports `bench`: the checkout first on its
    path, whatever its working directory."""
    path = os.pathsep.join(p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


async def bounded(items: list[Any], fn: Callable[[Any], Awaitable[Any]], limit: int) -> list[Any]:
    """`fn` over `items` with at most `limit` in flight; results in order."""
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


# ---------------------------------------------------------------------- the worker process


class WorkerProcess:
    """The production worker (+ BenchTrivial) in a child process: its memory and CPU are its own."""

    def __init__(
        self,
        address: str,
        namespace: str,
        task_queue: str,
        log_path: Path,
        env: dict[str, str],
        max_cached_workflows: int | None = None,
    ) -> None:
        self.args = [sys.executable, "-m", "bench.processes", "worker", "--address", address]
        self.args += ["--namespace", namespace, "--task-queue", task_queue]
        if max_cached_workflows:
            self.args += ["--max-cached-workflows", str(max_cached_workflows)]
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.max_rss_mb: float | None = None
        self._log: Any = None

    async def start(self, timeout: float = 90.0) -> None:
        self._log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
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
        """User + system CPU time of the worker so far (/proc/<pid>/stat, utime + stime)."""
        if self.proc is None:
            return None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    async def quiesce(self, still_s: float = 0.6, timeout: float = 30.0) -> None:
        """Wait until the worker's CPU time stops moving: what a round of work started (a
        read-model save after an update's answer, say) is then inside the round's figure."""
        deadline = time.monotonic() + timeout
        last, since = self.cpu_seconds(), time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            now = self.cpu_seconds()
            if now is None or last is None or now - last > 0.02:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= still_s:
                return

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


class WorkerGroup:
    """`processes` bench workers on one task queue, as `cpplan worker --processes N` runs them:
    each its own process, client, cache and core. Measured as one worker: CPU time and resident
    memory are the sums over the processes, peak memory the sum of each one's peak (an upper
    bound on the group's)."""

    def __init__(
        self,
        processes: int,
        address: str,
        namespace: str,
        task_queue: str,
        log_dir: Path,
        env: dict[str, str],
        max_cached_workflows: int | None = None,
    ) -> None:
        self.log_paths = [log_dir / ("worker.log" if n == 1 else f"worker-{n}.log") for n in range(1, processes + 1)]
        self.members = [
            WorkerProcess(address, namespace, task_queue, path, env, max_cached_workflows) for path in self.log_paths
        ]

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.members if w.proc is not None]

    async def start(self) -> None:
        try:
            for member in self.members:
                await member.start()
        except BaseException:
            await self.stop()
            raise

    def _sum(self, values: list[float | None]) -> float | None:
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    def peak_rss_mb(self) -> float | None:
        return self._sum([w.peak_rss_mb() for w in self.members])

    def rss_mb(self) -> float | None:
        return self._sum([w.rss_mb() for w in self.members])

    def cpu_seconds(self) -> float | None:
        return self._sum([w.cpu_seconds() for w in self.members])

    @property
    def max_rss_mb(self) -> float | None:
        return self._sum([w.max_rss_mb for w in self.members])

    async def quiesce(self, still_s: float = 0.6, timeout: float = 30.0) -> None:
        await asyncio.gather(*(w.quiesce(still_s, timeout) for w in self.members))

    async def stop(self, timeout: float = 60.0) -> None:
        await asyncio.gather(*(w.stop(timeout) for w in self.members))


def sdk_default_cache() -> int | None:
    import inspect

    from temporalio.worker import Worker

    default = inspect.signature(Worker.__init__).parameters["max_cached_workflows"].default
    return default if isinstance(default, int) else None


# ---------------------------------------------------------------------- the server


@dataclass
class Server:
    client: Any
    address: str
    namespace: str
    description: str
    env: Any = None  # the embedded server's WorkflowEnvironment, shut down by `stop`

    async def stop(self) -> None:
        if self.env is not None:
            await self.env.shutdown()
            self.env = None


async def start_server(address: str | None, namespace: str | None, server_db: str, tmp: Path) -> Server:
    """A client of the server `address` names, or of an embedded dev server started here."""
    from worker.client import connect, sealing_options

    if address:
        namespace = namespace or "default"
        client = await connect(address, namespace)
        return Server(client, address, namespace, f"external at {address} (namespace {namespace})")
    from temporalio.testing import WorkflowEnvironment

    from starters.dev import temporal_binary

    port = free_port()
    path = temporal_binary()
    with output_to(tmp / "server.log"):  # its banner would spoil --json
        env = await WorkflowEnvironment.start_local(
            namespace="default",
            **sealing_options(),
            ip="127.0.0.1",
            port=port,
            ui=False,
            dev_server_existing_path=path,
            dev_server_database_filename=None if server_db == "memory" else str(tmp / "temporal.db"),
            dev_server_log_level="error",
            dev_server_startup_timeout=timedelta(seconds=60),
        )
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    where = "in memory" if server_db == "memory" else "file"
    description = f"embedded dev server ({version or 'temporal'}), SQLite {where}"
    return Server(env.client, f"127.0.0.1:{port}", "default", description, env)


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


def delivery_counts(log_paths: list[Path]) -> tuple[int, int]:
    """(deliveries beyond one per idempotency key, repeats the outbox suppressed) from the
    workers' JSON log lines, over every worker process."""
    delivered: Counter[str] = Counter()
    suppressed = 0
    for line in _lines(log_paths):
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


def _lines(paths: list[Path]) -> Iterator[str]:
    for path in paths:
        with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as handle:
            yield from handle


# ---------------------------------------------------------------------- this process's surroundings


@contextlib.contextmanager
def bench_environment(tmp: Path, task_queue: str) -> Iterator[None]:
    """The run's own read model, policy folder, payload key and task queue, in this process's
    environment (and so the worker's) for the block; restored after."""
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
    # No watchdog schedule: its sweeps would be measured with the plans, and none is left behind
    # on a server the bench was pointed at.
    os.environ["CPPLAN_WATCHDOG_EVERY"] = "0"
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
def output_to(path: Path) -> Iterator[None]:
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


def quiet_sdk_runtime() -> None:
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


async def terminate(client: Any, ids: list[str], progress: Progress) -> None:
    """End the bench's workflows on a server it did not start (its own goes with its file)."""
    done = 0

    async def one(workflow_id: str) -> None:
        nonlocal done
        with contextlib.suppress(Exception):
            await client.get_workflow_handle(workflow_id).terminate(reason="cpplan bench finished")
        done += 1
        progress.update(done)

    await bounded(ids, one, 16)
