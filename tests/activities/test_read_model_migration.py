"""The read model's migrations (activities/migrations) on SQLite and PostgreSQL: a database the
release before migrations made is adopted and upgraded keeping every row, whatever that release
had added to it; the revisions build exactly the tables the code declares; production refuses a
database behind this release instead of changing it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from activities import schema
from activities.db import audit, escalations, get_engine, metadata, obligations, outbox, plans, reset_engine_cache
from tests.activities import previous_release as release

pytestmark = pytest.mark.all_databases


def _fresh_engine(url: str) -> sa.Engine:
    reset_engine_cache()
    return get_engine(url)


@pytest.mark.parametrize("shape", release.SHAPES)
def test_a_previous_release_database_is_upgraded_keeping_every_row(database: str, shape: str) -> None:
    release.create(database, shape)
    raw = sa.create_engine(database)
    try:
        before = schema.inspect(raw)
        assert (before.current, before.has_tables, before.usable) == (None, True, False)
        after = schema.upgrade(raw)  # what `cpplan db upgrade` does
    finally:
        raw.dispose()
    assert after.at_head and after.current == schema.head()

    engine = _fresh_engine(database)
    with engine.begin() as conn:
        plan = conn.execute(sa.select(plans).where(plans.c.plan_id == release.PLAN_ID)).one()
        assert (plan.state, plan.team_ref, plan.overdue_count) == ("active", release.ESCALATED_TO, 1)
        assert plan.execution_status == (None if shape == "first" else "running")
        assert conn.execute(sa.select(sa.func.count()).select_from(obligations)).scalar() == 2
        (letter,) = conn.execute(sa.select(outbox.c.key, outbox.c.state)).all()
        assert letter.state == "sent" and letter.key.startswith(release.PLAN_ID)
        # Escalations: kept, or (a database from before the table) filled from the saved status.
        (escalated,) = conn.execute(sa.select(escalations)).all()
        assert (escalated.to_ref, escalated.obligation_id, escalated.at) == (
            release.ESCALATED_TO,
            "visit-1",
            release.AT,
        )
        kept = [r.action for r in conn.execute(sa.select(audit.c.action).order_by(audit.c.id))]
        assert kept == (list(release.AUDIT_ACTIONS) if shape == "0.1.0" else [])
        # This release writes what it added.
        conn.execute(plans.update().values(execution_status="terminated"))
        conn.execute(audit.insert().values(at=release.AT, via="api", method="GET", action="status", status=200))


def test_migrations_build_the_tables_the_code_declares(database: str) -> None:
    engine = get_engine(database)  # an empty database, upgraded on first use outside production
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert schema.inspect(engine).at_head


def test_downgrade_to_nothing_and_back(database: str) -> None:
    from alembic import command

    engine = get_engine(database)
    with engine.begin() as conn:
        command.downgrade(schema.config(conn), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert schema.upgrade(engine).at_head
    assert {"plans", "obligations", "escalations", "outbox", "audit"} <= set(sa.inspect(engine).get_table_names())


def test_production_refuses_a_database_behind_and_leaves_it_alone(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release.create(database, "worker-only")
    monkeypatch.setenv("CPPLAN_ENV", "production")
    reset_engine_cache()
    with pytest.raises(schema.SchemaBehind, match=r"from before migrations: run `cpplan db upgrade`"):
        get_engine(database)
    raw = sa.create_engine(database)
    try:
        assert not sa.inspect(raw).has_table("audit") and schema.inspect(raw).current is None
        schema.upgrade(raw)
    finally:
        raw.dispose()
    assert schema.inspect(_fresh_engine(database)).at_head  # at head: production opens it


def test_a_database_from_a_later_release_is_used_as_it_is(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine(database)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    monkeypatch.setenv("CPPLAN_ENV", "production")
    state = schema.inspect(_fresh_engine(database))
    assert state.ahead and state.usable and not state.at_head
