"""The front door's probes: /healthz and /readyz answer without a token and write no audit row;
/readyz is 200 with Temporal and the database usable, 503 naming what is not (Temporal
unreachable; a database behind this release in production)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from activities import schema
from activities.db import get_engine, reset_engine_cache
from starters.web import audit
from starters.web.server import start_embedded, stop_embedded
from tests.web.conftest import Web, free_port


async def test_probes_answer_without_a_token_and_are_not_audited(web: Web) -> None:
    async with web.http() as http:
        alive = await http.get("/healthz")
        ready = await http.get("/readyz")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "database": "ok"}}
    assert audit.rows() == []
    assert "/readyz" not in (await httpx.AsyncClient(base_url=web.url).get("/api/openapi.json")).text


async def test_not_ready_without_temporal_or_with_a_schema_behind(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    async def unreachable() -> Any:
        raise RuntimeError("Failed client connect")

    port = free_port()
    server, task = await start_embedded(unreachable, "127.0.0.1", port, replace(web.settings, deadline_s=2.0))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            assert (await http.get("/healthz")).status_code == 200
            r = await http.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {"status": "not ready", "checks": {"temporal": "unreachable", "database": "ok"}}
    finally:
        await stop_embedded(server, task)

    with get_engine().begin() as conn:  # as if this release's migration had not been run
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    monkeypatch.setenv("CPPLAN_ENV", "production")
    reset_engine_cache()
    async with web.http() as http:
        r = await http.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "schema behind this release: run `cpplan db upgrade`"


def test_production_front_door_refuses_to_start_on_a_schema_behind(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starters.cli import main

    url = f"sqlite:///{tmp_path / 'cpplan.db'}"
    monkeypatch.setenv("CPPLAN_DATABASE_URL", url)
    reset_engine_cache()
    with get_engine().begin() as conn:  # this release's database, its last migration not run
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    reset_engine_cache()
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    for name, value in {
        "CPPLAN_ENV": "production",
        "CPPLAN_OIDC_ISSUER": "https://login.council.example",
        "CPPLAN_OIDC_JWKS_FILE": str(jwks),
        "CPPLAN_WEB_SESSION_SECRET": "s" * 32,
    }.items():
        monkeypatch.setenv(name, value)

    def served(*_args: Any) -> None:
        raise AssertionError("the front door started on a schema behind its release")

    monkeypatch.setattr("starters.web.server.serve", served)
    try:
        assert main(["serve", "--web-port", str(free_port())]) == 1
    finally:
        reset_engine_cache()
    assert f"behind this release's {schema.head()}: run `cpplan db upgrade`" in capsys.readouterr().err
