"""Fixtures for the activity tests: a fresh SQLite file per test and a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.db import reset_engine_cache
from tests.activities.activity_test_support import MailCollector, SmtpServer, free_port


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cpplan.db'}"
    monkeypatch.setenv("CPPLAN_DATABASE_URL", url)
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.delenv("CPPLAN_POLICY_DIR", raising=False)
    reset_engine_cache()
    yield url
    reset_engine_cache()


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
    import logging  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    import worker.logging as worker_logging  # noqa: PLC0415

    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "cpplan"]:
        root.removeHandler(handler)
    structlog.reset_defaults()
    worker_logging._configured = False
