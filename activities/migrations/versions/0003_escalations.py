"""Each plan's escalations in an indexed table (the managers' "escalations to me"), filled from
every plan's saved status. An adopted database may have the table already.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from activities.migrations import has_table, offline

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if has_table("escalations"):
        return
    escalations = op.create_table(
        "escalations",
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("to_ref", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("obligation_id", sa.String(200)),
    )
    op.create_index("ix_escalations_to_ref", "escalations", ["to_ref"])
    if offline():
        return  # the SQL for review: an empty database has no statuses to copy
    plans = sa.table("plans", sa.column("plan_id", sa.String), sa.column("status_json", sa.Text))
    rows: list[dict[str, Any]] = []
    for plan_id, status_json in op.get_bind().execute(sa.select(plans.c.plan_id, plans.c.status_json)):
        try:
            rows += _rows(plan_id, json.loads(status_json))
        except (KeyError, TypeError, ValueError):
            continue  # the next save of that plan writes its rows
    if rows:
        op.bulk_insert(escalations, rows)


def _rows(plan_id: str, status: dict[str, Any]) -> list[dict[str, Any]]:
    """As activities/db.py `escalation_rows` wrote them when this revision was made."""
    return [
        {
            "plan_id": plan_id,
            "position": position,
            "kind": str(e["kind"]),
            "level": int(e["level"]),
            "to_ref": str(e["to"]),
            "at": _utc(e["at"]),
            "obligation_id": None if e.get("obligation_id") is None else str(e["obligation_id"]),
        }
        for position, e in enumerate(status.get("escalations") or [])
    ]


def _utc(at: Any) -> datetime:
    moment = datetime.fromisoformat(str(at))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    op.drop_table("escalations")
