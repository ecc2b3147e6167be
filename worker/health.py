"""Health for probes: `/healthz` (the process is alive) and `/readyz` (it can do its work).

Shared by the front door (starters/web/health.py), the codec server and the worker, which serves
them on `CPPLAN_WORKER_HEALTH_PORT` when set (`cpplan worker --processes N`: process i on
PORT + i - 1). Answers carry the name of each check and "ok" or a short reason: no person, no
plan, no address or password; no token is needed to ask.

- The worker is ready once it polls its task queue, and stops being ready when it is told to stop.
- The front door is ready when Temporal answers, the database answers and its schema is one this
  release can use (activities/schema.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

CHECK_TIMEOUT = timedelta(seconds=3)
Checks = dict[str, str]


async def temporal_check(client: Client) -> str:
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=CHECK_TIMEOUT)
    except Exception as err:  # unreachable, refused, timed out: the probe says which kind
        return f"unreachable ({type(err).__name__})"
    return "ok"


def _database_check() -> str:
    import sqlalchemy as sa

    from activities import schema
    from activities.db import get_engine

    try:
        engine = get_engine()  # checks the schema on first use (SchemaBehind in production)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        state = schema.inspect(engine)
    except schema.SchemaBehind:
        return "schema behind this release: run `cpplan db upgrade`"
    except Exception as err:
        return f"unreachable ({type(err).__name__})"
    return "ok" if state.usable else f"schema {state.describe()}"


async def database_check() -> str:
    try:
        return await asyncio.wait_for(asyncio.to_thread(_database_check), CHECK_TIMEOUT.total_seconds() * 2)
    except TimeoutError:
        return "unreachable (timed out)"


def verdict(checks: Checks) -> tuple[int, dict[str, object]]:
    ready = all(value == "ok" for value in checks.values())
    return (200 if ready else 503), {"status": "ready" if ready else "not ready", "checks": checks}


ALIVE = {"status": "alive"}


def add_routes(app: web.Application, ready: Callable[[], Awaitable[Checks]]) -> None:
    """`/healthz` and `/readyz` on an aiohttp application (the codec server, the worker's port)."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response(ALIVE)

    async def readyz(_request: web.Request) -> web.Response:
        status, body = verdict(await ready())
        return web.json_response(body, status=status)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def worker_health_port() -> int | None:
    """`CPPLAN_WORKER_HEALTH_PORT`, shifted by the process's number under `--processes N`."""
    raw = os.environ.get("CPPLAN_WORKER_HEALTH_PORT", "").strip()
    if not raw:
        return None
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"CPPLAN_WORKER_HEALTH_PORT must be a port number, not {raw!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"CPPLAN_WORKER_HEALTH_PORT must be a port number, not {raw!r}")
    process = os.environ.get("CPPLAN_WORKER_PROCESS", "").strip()
    return port + (int(process) - 1 if process.isdigit() and int(process) > 0 else 0)


class WorkerHealth:
    """The worker's probes: alive while the process runs, ready while it polls."""

    def __init__(self) -> None:
        self.polling = False
        self._runner: web.AppRunner | None = None

    async def _ready(self) -> Checks:
        return {"polling": "ok" if self.polling else "not polling"}

    async def start(self, port: int) -> None:
        # All addresses by default: the kubelet probes the pod's own address.
        host = os.environ.get("CPPLAN_WORKER_HEALTH_HOST", "").strip() or "0.0.0.0"
        app = web.Application()
        add_routes(app, self._ready)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
