"""The worker's probes (CPPLAN_WORKER_HEALTH_PORT): alive from the start, ready while it polls,
gone once it stops; in production a read model behind this release stops it before it takes work."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.db import get_engine, reset_engine_cache
from activities.schema import SchemaBehind
from tests.activities.activity_test_support import free_port
from worker.health import worker_health_port
from worker.main import run_worker


def target(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_the_worker_is_ready_once_it_polls(
    temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    port = free_port()
    monkeypatch.setenv("CPPLAN_WORKER_HEALTH_PORT", str(port))
    monkeypatch.setenv("CPPLAN_WORKER_HEALTH_HOST", "127.0.0.1")
    running = asyncio.create_task(run_worker(address=target(temporal), task_queue="test-health"))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        ready = None
        for _ in range(200):
            try:
                ready = await http.get("/readyz")
            except httpx.TransportError:
                ready = None
            if ready is not None and ready.status_code == 200 or running.done():
                break
            await asyncio.sleep(0.05)
        assert not running.done(), running.exception()
        assert ready is not None and ready.json() == {"status": "ready", "checks": {"polling": "ok"}}
        assert (await http.get("/healthz")).json() == {"status": "alive"}

        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, timeout=10)
        with pytest.raises(httpx.TransportError):
            await http.get("/healthz")


async def test_production_stops_a_worker_on_a_schema_behind(
    temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    with get_engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE audit"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    reset_engine_cache()
    monkeypatch.setenv("CPPLAN_ENV", "production")
    with pytest.raises(SchemaBehind, match="run `cpplan db upgrade`"):
        await asyncio.wait_for(run_worker(address=target(temporal), task_queue="test-behind"), timeout=20)


def test_each_supervised_process_has_its_own_health_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPPLAN_WORKER_HEALTH_PORT", "9100")
    monkeypatch.delenv("CPPLAN_WORKER_PROCESS", raising=False)
    assert worker_health_port() == 9100
    monkeypatch.setenv("CPPLAN_WORKER_PROCESS", "3")
    assert worker_health_port() == 9102
    monkeypatch.setenv("CPPLAN_WORKER_HEALTH_PORT", "http")
    with pytest.raises(ValueError, match="CPPLAN_WORKER_HEALTH_PORT"):
        worker_health_port()
