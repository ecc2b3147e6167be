"""The databases the read-model and outbox tests run on: SQLite always, PostgreSQL when
`CPPLAN_TEST_POSTGRES_URL` names one (`scripts/ci-postgres.sh` starts a throwaway server and sets
it; `make postgres-test`).

A test module opts in with `pytestmark = pytest.mark.all_databases`; tests/activities/conftest.py
then runs each of its tests once per backend (ids `[sqlite]` and `[postgresql]`). Elsewhere a
fixture can use `backend_params()` and `fresh_database()` directly (tests/cli/test_report.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from activities.db import reset_engine_cache

POSTGRES_ENV = "CPPLAN_TEST_POSTGRES_URL"
SKIP_REASON = (
    f"PostgreSQL variant: set {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5433/cpplan_test) "
    "or run `make postgres-test`, which starts a throwaway server"
)


def backend_params() -> list[object]:
    """`params=` for a fixture that runs a test on each backend; PostgreSQL is skipped, with the
    reason, unless its URL is set."""
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=SKIP_REASON),
        ),
    ]


def _empty_postgres(url: str) -> None:
    """Drop every table, the schema's version among them, so each test starts on an empty
    database (a throwaway one: nothing else is kept in it)."""
    engine = sa.create_engine(url)
    try:
        present = sa.MetaData()
        present.reflect(engine)
        present.drop_all(engine)
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point `CPPLAN_DATABASE_URL` at an empty read model on `backend` for the block; yields the URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cpplan.db'}"
    elif backend == "postgresql":
        url = os.environ.get(POSTGRES_ENV, "")
        if not url:
            pytest.skip(SKIP_REASON)
        _empty_postgres(url)
    else:
        raise ValueError(f"unknown test database backend {backend!r}")
    monkeypatch.setenv("CPPLAN_DATABASE_URL", url)
    reset_engine_cache()
    try:
        yield url
    finally:
        reset_engine_cache()
        if backend == "postgresql":
            _empty_postgres(url)
