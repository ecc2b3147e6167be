"""The read model as the first release created it: plans, obligations and the outbox.

A database from before migrations is stamped at this revision and the later ones bring it up to
date, each skipping what that database already has (activities/schema.py, "adopting").

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("icpc_date", sa.Date, nullable=False),
        sa.Column("team_ref", sa.String(200)),
        sa.Column("lead_ref", sa.String(200)),
        sa.Column("next_due_date", sa.Date),
        sa.Column("next_due_kind", sa.String(50)),
        sa.Column("overdue_count", sa.Integer, nullable=False),
        sa.Column("status_json", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_plans_overdue", "plans", ["state", "overdue_count"])
    op.create_table(
        "obligations",
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("obligation_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("met_on", sa.Date),
        sa.Column("member_id", sa.String(200)),
    )
    op.create_index("ix_obligations_status_due", "obligations", ["status", "due"])
    op.create_table(
        "outbox",
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("plan_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("to_id", sa.String(200), nullable=False),
        sa.Column("to_role", sa.String(100), nullable=False),
        sa.Column("to_email", sa.String(320)),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("obligation_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_plan_id", "outbox", ["plan_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("obligations")
    op.drop_table("plans")
