"""The read model's schema history: Alembic revisions under `versions/`, run by
`cpplan db upgrade` (activities/schema.py). Each revision works on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op


def offline() -> bool:
    """Printing SQL for review (`cpplan db upgrade --sql`): there is no database to look at."""
    return context.is_offline_mode()


def has_table(name: str) -> bool:
    """Whether an adopted database (from before migrations) already has the table."""
    return not offline() and sa.inspect(op.get_bind()).has_table(name)


def columns(table: str) -> set[str]:
    """The columns an adopted database's table already has."""
    return set() if offline() else {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
