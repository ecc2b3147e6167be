"""Running the web front door: `cpplan serve` on its own, or inside `cpplan dev` (same loop)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from temporalio.client import Client

from starters.web.app import create_app
from starters.web.settings import WebSettings

DEFAULT_PORT = 8000


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the host process (`cpplan dev`) stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise OSError(f"port {port} (web) is in use; choose another with --web-port") from None


async def start_embedded(
    connect: Callable[[], Awaitable[Client]],
    host: str,
    port: int,
    settings: WebSettings | None = None,
    app: Any = None,
) -> tuple[uvicorn.Server, asyncio.Task[Any]]:
    """Serve in the running loop until `server.should_exit = True`; returns once it listens.
    `app`: another ASGI app to serve instead (tests serve their stand-ins this way)."""
    app = app or create_app(settings or WebSettings.from_env(), connect)
    server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise OSError(f"the web server did not start on {host}:{port}")
        await asyncio.sleep(0.05)
    return server, task


async def stop_embedded(server: uvicorn.Server, task: asyncio.Task[Any]) -> None:
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


def serve(address: str | None, namespace: str | None, host: str, port: int) -> None:
    """`cpplan serve`: the API and pages until Ctrl-C."""
    from worker.client import connect

    settings = WebSettings.from_env()
    app = create_app(settings, lambda: connect(address, namespace))
    # No access log: the audit table records every request with who made it.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=True)


async def start_for_dev(client: Client, port: int) -> tuple[uvicorn.Server, asyncio.Task[Any]]:
    """`cpplan dev`: the front door on the dev server's client, on loopback, with the development
    signing key (made under `.data/` on first use)."""

    async def connect() -> Client:
        return client

    started = await start_embedded(connect, "127.0.0.1", port)
    print(f"Web API and pages: http://localhost:{port}/  (development sign-in; `cpplan dev-token`)", flush=True)
    return started
