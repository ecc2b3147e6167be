"""The front door's audit trail (starters/web/audit.py): who asked what of which plan, when, and
the answer. An adopted database may have it already (the web layer created it on first use).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from activities.migrations import has_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if has_table("audit"):
        return
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(200)),
        sa.Column("roles", sa.String(200)),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("plan_id", sa.String(200)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(200)),
    )
    op.create_index("ix_audit_plan_at", "audit", ["plan_id", "at"])
    op.create_index("ix_audit_who_at", "audit", ["who", "at"])


def downgrade() -> None:
    op.drop_table("audit")
