"""Tests on a real Temporal dev server (the Go `temporal` binary `cpplan dev` runs), for what
only the real server does: keep one signal per request id, and answer visibility queries on
ExecutionStatus. Apart from tests/cli because the dev server reads the real clock whatever
libfaketime tells this Python, so they cannot run in CI's clock-ahead runs (.ci/run)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.cli.conftest import demo_doc  # noqa: F401  (a fixture these tests use too)


@pytest.fixture
async def dev_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the `temporal` binary `cpplan dev` runs, in memory, on a free
    port) with the plan search attributes registered and the real worker: for what only the
    real server does, such as keeping one of two signals sent with the same request id."""
    from activities.db import reset_engine_cache
    from starters.dev import temporal_binary
    from worker.client import data_converter
    from worker.main import build_worker
    from worker.search_attributes import ensure_search_attributes

    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cpplan.db'}")
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    task_queue = f"cli-dev-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CPPLAN_TASK_QUEUE", task_queue)
    reset_engine_cache()
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        ip="127.0.0.1",
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",
    )
    try:
        await ensure_search_attributes(env.client)
        async with build_worker(env.client, task_queue=task_queue):
            yield env
    finally:
        await env.shutdown()
        reset_engine_cache()
