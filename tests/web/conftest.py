"""Fixtures for the web front door: a time-skipping Temporal server with the real worker, and
the web app served by uvicorn on a real port (8341-8349), checking tokens against a signing key
made for the test (its JWKS in a file, as a deployment may configure)."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starters.web.devkey import DevKey, dev_token, ensure_dev_key
from starters.web.server import start_embedded, stop_embedded
from starters.web.settings import DEV_ISSUER, WebSettings
from tests.cli.conftest import DEMO_PLAN, test_server_path

PORTS = range(8341, 8350)


def free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Web:
    env: WorkflowEnvironment
    url: str
    key: DevKey
    settings: WebSettings

    def token(self, staff_id: str, *roles: str) -> str:
        return dev_token(self.key, staff_id, list(roles), issuer=self.settings.issuer, audience=self.settings.audience)

    def auth(self, staff_id: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(staff_id, *roles)}"}

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=60)


@pytest.fixture
def plan_doc() -> dict[str, Any]:
    """The demo plan (sw-demo, tm-demo, sm-demo) with a unique id, its conference today on the
    test server's clock (which starts at the real now)."""
    from starters.cases import today_in_london

    doc = json.loads(Path(DEMO_PLAN).read_text(encoding="utf-8"))
    doc["plan_id"] = f"web-{uuid.uuid4().hex[:12]}"
    doc["icpc_date"] = today_in_london().isoformat()
    return doc


@pytest.fixture
async def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Web]:
    from activities.db import reset_engine_cache
    from worker.client import sealing_options
    from worker.main import build_worker

    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cpplan.db'}")
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    task_queue = f"web-tests-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CPPLAN_TASK_QUEUE", task_queue)
    for name in ("CPPLAN_OIDC_ISSUER", "CPPLAN_OIDC_JWKS_URL", "CPPLAN_OIDC_JWKS_FILE", "CPPLAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    reset_engine_cache()
    key = ensure_dev_key(tmp_path / "keys")
    settings = replace(WebSettings.from_env(dev_dir=tmp_path / "keys"), deadline_s=20.0)
    assert settings.issuer == DEV_ISSUER and settings.jwks_file == key.jwks_path
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), **sealing_options()
    )
    try:
        async with build_worker(env.client, task_queue=task_queue):
            port = free_port()

            async def connect() -> Any:
                return env.client

            server, task = await start_embedded(connect, "127.0.0.1", port, settings)
            try:
                yield Web(env=env, url=f"http://127.0.0.1:{port}", key=key, settings=settings)
            finally:
                await stop_embedded(server, task)
    finally:
        await env.shutdown()
        reset_engine_cache()
