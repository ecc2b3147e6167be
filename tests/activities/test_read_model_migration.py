"""A read model created by an earlier release gains the watchdog's columns when first opened,
keeping its rows (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from activities.db import ADDED_COLUMNS, get_engine, plans, reset_engine_cache

pytestmark = pytest.mark.all_databases


def test_columns_added_to_an_existing_plans_table(database: str) -> None:
    old = sa.MetaData()
    added = {name for _, name in ADDED_COLUMNS}
    sa.Table(
        "plans", old, *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in plans.c if c.name not in added)
    )
    raw = sa.create_engine(database)
    try:
        old.create_all(raw)
        with raw.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO plans (plan_id, policy, state, icpc_date, overdue_count, status_json, updated_at) "
                    "VALUES ('m-1', 'london', 'active', '2026-01-05', 0, '{}', '2026-01-05 10:00:00')"
                )
            )
    finally:
        raw.dispose()
    reset_engine_cache()

    engine = get_engine(database)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("plans")}
    assert added <= columns
    with engine.begin() as conn:
        conn.execute(plans.update().where(plans.c.plan_id == "m-1").values(execution_status="terminated"))
        row = conn.execute(sa.select(plans.c.state, plans.c.execution_status).where(plans.c.plan_id == "m-1")).one()
    assert tuple(row) == ("active", "terminated")
    reset_engine_cache()
    get_engine(database)  # opening it again changes nothing and does not fail
