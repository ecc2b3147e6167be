"""Each channel's delivery of a notification with its own state (GOV.UK Notify's receipts say
whether it arrived), and each person's secret calendar feed, kept as a hash of its token.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from activities.db import UtcDateTime
from activities.migrations import has_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("deliveries"):
        op.create_table(
            "deliveries",
            sa.Column("reference", sa.String(100), primary_key=True),
            sa.Column("key", sa.String(500), nullable=False),
            sa.Column("plan_id", sa.String(200), nullable=False),
            sa.Column("to_id", sa.String(200), nullable=False),
            sa.Column("channel", sa.String(20), nullable=False),
            sa.Column("medium", sa.String(10), nullable=False),
            sa.Column("state", sa.String(20), nullable=False),
            sa.Column("provider_id", sa.String(100)),
            sa.Column("provider_status", sa.String(40)),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("last_error", sa.Text),
            sa.Column("claimed_until", UtcDateTime),
            sa.Column("sent_at", UtcDateTime),
            sa.Column("confirmed_at", UtcDateTime),
            sa.Column("reported_at", UtcDateTime),
        )
        op.create_index("ix_deliveries_key", "deliveries", ["key"])
        op.create_index("ix_deliveries_plan_id", "deliveries", ["plan_id"])
        op.create_index("ix_deliveries_provider_id", "deliveries", ["provider_id"])
        op.create_index("ix_deliveries_state_sent", "deliveries", ["state", "sent_at"])
    if not has_table("calendar_feeds"):
        op.create_table(
            "calendar_feeds",
            sa.Column("staff_id", sa.String(200), primary_key=True),
            sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
            sa.Column("roles", sa.String(300), nullable=False),
            sa.Column("created_at", UtcDateTime, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_index("ix_deliveries_state_sent", "deliveries")
    op.drop_index("ix_deliveries_provider_id", "deliveries")
    op.drop_index("ix_deliveries_plan_id", "deliveries")
    op.drop_index("ix_deliveries_key", "deliveries")
    op.drop_table("deliveries")
