"""Fixtures for the fault tests: a real SMTP server on 127.0.0.1 that misbehaves on cue.

Each test also uses `env` (its own time-skipping Temporal server) and `db_url` (its own SQLite
file) from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.activities.activity_test_support import free_port
from tests.faults.support import FaultyMail, start_mail_server


@pytest.fixture
def mail(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyMail]:
    """The handler of a running SMTP server; CPPLAN_SMTP_URL points at it (set after `db_url`,
    which clears it)."""
    handler = FaultyMail()
    server = start_mail_server(free_port(), handler, monkeypatch)
    try:
        yield handler
    finally:
        handler.release.set()  # never leave a held session blocking the server's shutdown
        handler.recovered.set()
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow(reason): takes longer than the rest of its folder; the reason says why (`-m 'not slow'` leaves it out)",
    )
