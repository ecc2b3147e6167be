"""Each plan's whole history in its own table (the status query gives only the newest entries),
filled from every plan's saved status; and the sessions signed out before their cookie expires.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from activities.db import UtcDateTime
from activities.migrations import has_table, offline

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("revoked_sessions"):
        op.create_table(
            "revoked_sessions",
            sa.Column("session_id", sa.String(64), primary_key=True),
            sa.Column("revoked_at", UtcDateTime, nullable=False),
            sa.Column("expires_at", UtcDateTime, nullable=False),
        )
        op.create_index("ix_revoked_sessions_expires", "revoked_sessions", ["expires_at"])
    if has_table("plan_history"):
        return
    history = op.create_table(
        "plan_history",
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("entry_json", sa.Text, nullable=False),
    )
    if offline():
        return  # the SQL for review: an empty database has no statuses to copy
    plans = sa.table("plans", sa.column("plan_id", sa.String), sa.column("status_json", sa.Text))
    for plan_id, status_json in op.get_bind().execute(sa.select(plans.c.plan_id, plans.c.status_json)):
        try:
            rows = _rows(plan_id, json.loads(status_json))
        except (KeyError, TypeError, ValueError):
            continue  # the next save of that plan writes its rows
        if rows:
            op.bulk_insert(history, rows)


def _rows(plan_id: str, status: dict[str, Any]) -> list[dict[str, Any]]:
    """As activities/db.py `history_rows` wrote them when this revision was made."""
    entries = status.get("history")
    return [
        {
            "plan_id": plan_id,
            "position": position,
            "event": str(entry.get("event") if isinstance(entry, dict) else "?")[:100],
            "entry_json": json.dumps(entry, default=str),
        }
        for position, entry in enumerate(entries if isinstance(entries, list) else [])
    ]


def downgrade() -> None:
    op.drop_table("plan_history")
    op.drop_index("ix_revoked_sessions_expires", "revoked_sessions")
    op.drop_table("revoked_sessions")
