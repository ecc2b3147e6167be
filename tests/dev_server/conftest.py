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
async def bare_dev_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (the `temporal` binary `cpplan dev` runs, in memory, on a free
    port) with the plan search attributes registered, a read model and a task queue of the
    test's own in the environment, and no worker."""
    from activities.db import reset_engine_cache
    from starters.dev import temporal_binary
    from worker.client import sealing_options
    from worker.search_attributes import ensure_search_attributes

    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cpplan.db'}")
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    monkeypatch.setenv("CPPLAN_TASK_QUEUE", f"dev-{uuid.uuid4().hex[:8]}")
    reset_engine_cache()
    env = await WorkflowEnvironment.start_local(
        **sealing_options(),
        ip="127.0.0.1",
        dev_server_existing_path=temporal_binary(),
        dev_server_log_level="error",
    )
    try:
        await ensure_search_attributes(env.client)
        yield env
    finally:
        await env.shutdown()
        reset_engine_cache()


@pytest.fixture
async def dev_server(bare_dev_server: WorkflowEnvironment) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server above with the real worker on the test's task queue: for what only the
    real server does, such as keeping one of two signals sent with the same request id."""
    from worker.main import build_worker
    from workflows import task_queue

    async with build_worker(bare_dev_server.client, task_queue=task_queue()):
        yield bare_dev_server
