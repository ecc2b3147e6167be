"""`cpplan worker --processes N`: N worker processes on the same task queue, each with its own
client, workflow cache and core, under one supervisor.

Plans are independent, so a busy worker scales by processes (one per core): the Python SDK runs
workflow code on one thread, so one process uses one core however many slots it has.

- SIGTERM or Ctrl-C stops every process (each finishes its running activities first, up to the
  worker's graceful shutdown) and the supervisor returns once all have stopped.
- A process that dies is restarted; one that dies MAX_RESTARTS times within RESTART_WINDOW is
  not restarted again: every process is stopped and the supervisor says which one and how.
- A process outlives its supervisor by no more than an instant: on Linux the kernel sends it
  SIGTERM when the supervisor dies, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass, field

import structlog

from worker.main import GRACEFUL_SHUTDOWN
from worker.stop_signals import stop_on_signals

log = structlog.get_logger("cpplan.worker")

MAX_RESTARTS = 3
RESTART_WINDOW = 60.0  # seconds
# After SIGTERM, how long a process has to finish its activities and stop before it is killed.
STOP_GRACE = GRACEFUL_SHUTDOWN.total_seconds() + 15
PR_SET_PDEATHSIG = 1


class SupervisorError(Exception):
    """The processes were stopped because one kept dying; the message says which and how."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Slot:
    index: int
    process: asyncio.subprocess.Process | None = None
    exits: list[float] = field(default_factory=list)


def child_environment(index: int, address: str | None, namespace: str | None) -> dict[str, str]:
    """The supervisor's environment, with the connection it was given (as `python -m worker`
    reads it) and the process's number, which its log lines carry."""
    env = dict(os.environ)
    if address:
        env["TEMPORAL_ADDRESS"] = address
    if namespace:
        env["TEMPORAL_NAMESPACE"] = namespace
    env["CPPLAN_WORKER_PROCESS"] = str(index)  # also shifts CPPLAN_WORKER_HEALTH_PORT (worker/health.py)
    return env


async def _spawn(slot: _Slot, address: str | None, namespace: str | None) -> None:
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    slot.process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=child_environment(slot.index, address, namespace), preexec_fn=preexec
    )
    log.info("worker process started", process=slot.index, pid=slot.process.pid)


async def _stop_all(slots: list[_Slot]) -> None:
    running = [s.process for s in slots if s.process is not None and s.process.returncode is None]
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    waits = [asyncio.ensure_future(p.wait()) for p in running]
    if not waits:
        return
    _done, pending = await asyncio.wait(waits, timeout=STOP_GRACE)
    for process in running:
        if process.returncode is None:
            log.warning("worker process did not stop in time; killed", pid=process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    if pending:
        await asyncio.wait(pending)


def _gave_up(slot: _Slot, code: int) -> bool:
    """Record an unexpected exit; True when the process has died too often to restart."""
    now = time.monotonic()
    slot.exits = [t for t in slot.exits if now - t < RESTART_WINDOW] + [now]
    return len(slot.exits) > MAX_RESTARTS


async def supervise(processes: int, address: str | None = None, namespace: str | None = None) -> None:
    """Run `processes` workers until SIGTERM/SIGINT or cancellation; raise SupervisorError if one
    of them keeps dying (after stopping the others)."""
    if processes < 1:
        raise ValueError("--processes: expected 1 or more")
    slots = [_Slot(i + 1) for i in range(processes)]
    failure: str | None = None
    with stop_on_signals() as stop:
        try:
            for slot in slots:
                await _spawn(slot, address, namespace)
            log.info("worker processes started", processes=processes)
            failure = await _watch(slots, stop, address, namespace)
        finally:
            log.info("worker processes stopping", processes=processes)
            await asyncio.shield(_stop_all(slots))
            log.info("worker processes stopped")
    if failure:
        raise SupervisorError(failure)


async def _watch(slots: list[_Slot], stop: asyncio.Event, address: str | None, namespace: str | None) -> str | None:
    """Wait for a stop or a death; restart the dead. Returns why all must stop, or None on a stop."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            exits = {asyncio.ensure_future(s.process.wait()): s for s in slots if s.process is not None}
            done, _ = await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
            for task in exits:
                if task not in done:
                    task.cancel()
            if stopping in done or stop.is_set():
                return None  # Ctrl-C reaches the processes too: an exit now is part of stopping
            for task in done:
                slot = exits[task]
                code = task.result()
                pid = slot.process.pid if slot.process else None
                if _gave_up(slot, code):
                    return (
                        f"worker process {slot.index} (pid {pid}) exited with status {code}, "
                        f"{len(slot.exits)} times within {RESTART_WINDOW:g} s; all worker processes stopped "
                        "(see its log above for why)"
                    )
                log.warning("worker process exited; restarting", process=slot.index, pid=pid, status=code)
                await _spawn(slot, address, namespace)
    finally:
        stopping.cancel()
