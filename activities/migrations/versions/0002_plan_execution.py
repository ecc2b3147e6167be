"""The watchdog's view of each plan's workflow: `plans.execution_status` and when it was checked.

Both nullable, so adding them is quick on SQLite and PostgreSQL alike. An adopted database may
have them already (the release before migrations added them at start-up).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from activities.migrations import columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("execution_status", sa.String(30)),
    ("execution_checked_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    present = columns("plans")
    for name, type_ in COLUMNS:
        if name not in present:
            op.add_column("plans", sa.Column(name, type_))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:  # SQLite rebuilds the table; PostgreSQL drops the columns
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
