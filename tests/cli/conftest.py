"""Fixtures for the command-line tests: the demo plan document, and a time-skipping Temporal
test server with the real worker (activities write to a SQLite file per test, mail is only
recorded in its outbox)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from starters.binaries import venv_binary
from starters.cases import today_in_london

DEMO_PLAN = Path(__file__).resolve().parents[2] / "starters" / "demo_plan.json"


def test_server_path() -> str:
    # Never let the SDK download a server: use the one the test extra installs in the venv.
    return venv_binary("temporal-test-server") or "temporal-test-server"


@pytest.fixture
def demo_doc() -> dict[str, Any]:
    """The demo plan with a unique id, its conference today: the test server's clock starts at
    the real now, and a conference date may not be in the future."""
    doc = json.loads(DEMO_PLAN.read_text(encoding="utf-8"))
    doc["plan_id"] = f"cli-{uuid.uuid4().hex[:12]}"
    doc["icpc_date"] = today_in_london().isoformat()
    return doc


@pytest.fixture
def write_doc(tmp_path: Path):
    def write(doc: dict[str, Any], name: str = "plan.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(doc), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
async def temporal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    from activities.db import reset_engine_cache
    from worker.client import sealing_options
    from worker.main import build_worker

    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cpplan.db'}")
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    # start_plan uses workflows.task_queue(): a queue of our own keeps tests apart.
    task_queue = f"cli-tests-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CPPLAN_TASK_QUEUE", task_queue)
    reset_engine_cache()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), **sealing_options()
    )
    try:
        async with build_worker(env.client, task_queue=task_queue):
            yield env
    finally:
        await env.shutdown()
        reset_engine_cache()
