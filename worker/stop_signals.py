"""How a long-running process (`python -m worker`, `cpplan worker --processes N`) learns it is to
stop: SIGINT (Ctrl-C) and SIGTERM (docker stop, a Kubernetes rollout) set an event."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs; the handlers are removed after.
    Off the main thread, or where the platform has none, cancellation is the way to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        yield stop
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
