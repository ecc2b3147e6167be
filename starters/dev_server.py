"""The Temporal dev server as a child of `cpplan dev` that cannot outlive it.

`temporal server start-dev` is started here rather than through the SDK's
`WorkflowEnvironment.start_local`, whose process this code cannot configure: on Linux the child
asks the kernel (`prctl(PR_SET_PDEATHSIG)`) for SIGTERM when `cpplan dev` dies, however it dies
(SIGKILL included), so no server is left holding the ports and the state file. Elsewhere it is
stopped on a normal exit only.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client

PR_SET_PDEATHSIG = 1
STOP_GRACE = timedelta(seconds=15)
# What the SDK's own dev-server launcher sets: updates on, no version check phoning home.
DYNAMIC_CONFIG = (
    "frontend.enableServerVersionCheck=false",
    "frontend.enableUpdateWorkflowExecution=true",
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
)


class DevServerError(Exception):
    """The dev server could not be started; the message fits on one line."""


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has the child sent SIGTERM when this process dies (Linux only)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def server_command(
    binary: str, *, port: int, ui_port: int, namespace: str, db_file: str, codec_endpoint: str
) -> list[str]:
    command = [binary, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port)]
    command += ["--namespace", namespace, "--db-filename", db_file, "--log-level", "error", "--log-format", "pretty"]
    for value in DYNAMIC_CONFIG:
        command += ["--dynamic-config-value", value]
    return command + ["--ui-codec-endpoint", codec_endpoint]


class DevServer:
    def __init__(self, command: list[str]):
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Started from the main thread: PR_SET_PDEATHSIG follows the thread that forked. In a
        # process group of its own, so Ctrl-C in the terminal reaches `cpplan dev` only, which
        # stops the worker first and then the server.
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(), process_group=0
        )

    async def connect(self, timeout: timedelta, stop: asyncio.Event, **client_options: Any) -> Client | None:
        """A client once the server answers; None if `stop` is set first."""
        if self.process is None:
            raise DevServerError("the Temporal dev server was not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout.total_seconds()
        target = f"127.0.0.1:{self.command[self.command.index('--port') + 1]}"
        while not stop.is_set():
            if self.process.poll() is not None:
                raise DevServerError(
                    f"the Temporal dev server exited during start-up (status {self.process.returncode})"
                )
            try:
                return await Client.connect(target, **client_options)
            except Exception:
                if loop.time() > deadline:
                    raise DevServerError(
                        f"the Temporal dev server did not answer within {timeout.total_seconds():.0f} s"
                    ) from None
            await asyncio.sleep(0.25)
        return None

    async def stop(self) -> None:
        """SIGTERM (the server closes its state file), SIGKILL if it has not gone in time."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, STOP_GRACE.total_seconds())
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
