"""`cpplan db` on a copy of a read model made by the release before migrations (its own code,
fixtures/read-model-0.1.0.sqlite): `current` says it is behind (exit 1), `upgrade` adopts it,
and tests/activities/previous_release.py makes the same schema (so its PostgreSQL twin in
test_read_model_migration.py is that release's too)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from activities import schema
from starters.cli import main
from tests.activities import previous_release as release


def _schema_sql(path: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"))
            return [" ".join(r.sql.split()) for r in rows]
    finally:
        engine.dispose()


def test_the_helper_makes_the_release_schema(tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    release.create(f"sqlite:///{made}", "0.1.0")
    assert _schema_sql(made) == _schema_sql(release.FIXTURE)


def test_cpplan_db_adopts_the_release_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "cpplan.db"
    shutil.copyfile(release.FIXTURE, copy)
    url = f"sqlite:///{copy}"

    assert main(["db", "current", "--url", url, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["state"] == "from before migrations"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert f"at {schema.head()} (this release's)" in capsys.readouterr().out
    assert main(["db", "current", "--url", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["at_head"] is True
    assert main(["db", "upgrade", "--url", url]) == 0  # again: nothing to do

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM audit")).scalar() == len(release.AUDIT_ACTIONS)
            assert conn.execute(sa.text("SELECT to_ref FROM escalations")).scalar() == release.ESCALATED_TO
    finally:
        engine.dispose()


def test_cpplan_db_names_an_unreachable_database_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["db", "current", "--url", "postgresql+psycopg://cpplan:s3cret@127.0.0.1:1/cpplan"])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot reach the database at postgresql+psycopg://cpplan:***@127.0.0.1:1/cpplan" in err
    assert "s3cret" not in err
