"""Events out: each fact a case system records, as the CloudEvent sent (`events`), and its
delivery to each webhook endpoint (`event_deliveries`). Two new tables, nothing else changes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from activities.db import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    """Printing SQL for review has no database to look at: every table is written out."""
    return context.is_offline_mode() or not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("events"):
        op.create_table(
            "events",
            sa.Column("key", sa.String(600), primary_key=True),
            sa.Column("event_id", sa.String(64), nullable=False, unique=True),
            sa.Column("plan_id", sa.String(200), nullable=False),
            sa.Column("type", sa.String(100), nullable=False),
            sa.Column("time", UtcDateTime, nullable=False),
            sa.Column("recorded_at", UtcDateTime, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
        )
        op.create_index("ix_events_plan_id", "events", ["plan_id"])
        op.create_index("ix_events_recorded_at", "events", ["recorded_at"])
    if _missing("event_deliveries"):
        op.create_table(
            "event_deliveries",
            sa.Column("event_id", sa.String(64), primary_key=True),
            sa.Column("endpoint", sa.String(20), primary_key=True),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("next_attempt_at", UtcDateTime, nullable=False),
            sa.Column("first_failed_at", UtcDateTime),
            sa.Column("delivered_at", UtcDateTime),
            sa.Column("last_error", sa.Text),
            sa.Column("claimed_until", UtcDateTime),
        )
        op.create_index("ix_event_deliveries_due", "event_deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_event_deliveries_due", "event_deliveries")
    op.drop_table("event_deliveries")
    op.drop_index("ix_events_recorded_at", "events")
    op.drop_index("ix_events_plan_id", "events")
    op.drop_table("events")
