"""A read model as the release before migrations (0.1.0) left it, for the upgrade tests.

That release created its tables with `metadata.create_all` when a process first opened the
database, added the watchdog's two `plans` columns with `ALTER TABLE` and the `escalations`
table (filled from the saved statuses) to databases from before them, and the web layer created
`audit` on its first request. The tables below are its definitions, copied unchanged.
`fixtures/read-model-0.1.0.sqlite` was made by that release's own code (its `get_engine()` and
the web layer's audit table) with `fill()`'s rows; the tests check this module makes the same
schema, so it can make the same database on PostgreSQL.

`shape`: "0.1.0" (everything, as a database used by that release's worker and front door has),
"worker-only" (no `audit`: the front door never ran on it), or "first" (the first release's
tables only: no watchdog columns, no `escalations`, no `audit`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "read-model-0.1.0.sqlite"
SHAPES = ("0.1.0", "worker-only", "first")

PLAN_ID = "rel-0001"
ESCALATED_TO = "tm-rel"
AUDIT_ACTIONS = ("record-visit", "status")


def tables(shape: str) -> sa.MetaData:
    if shape not in SHAPES:
        raise ValueError(shape)
    md = sa.MetaData()
    watchdog = (
        []
        if shape == "first"
        else [
            sa.Column("execution_status", sa.String(30)),
            sa.Column("execution_checked_at", sa.DateTime(timezone=True)),
        ]
    )
    sa.Table(
        "plans",
        md,
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("icpc_date", sa.Date, nullable=False),
        sa.Column("team_ref", sa.String(200)),
        sa.Column("lead_ref", sa.String(200)),
        sa.Column("next_due_date", sa.Date),
        sa.Column("next_due_kind", sa.String(50)),
        sa.Column("overdue_count", sa.Integer, nullable=False, default=0),
        sa.Column("status_json", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *watchdog,
        sa.Index("ix_plans_overdue", "state", "overdue_count"),
    )
    sa.Table(
        "obligations",
        md,
        sa.Column("plan_id", sa.String(200), primary_key=True),
        sa.Column("obligation_id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("met_on", sa.Date),
        sa.Column("member_id", sa.String(200)),
        sa.Index("ix_obligations_status_due", "status", "due"),
    )
    if shape != "first":
        sa.Table(
            "escalations",
            md,
            sa.Column("plan_id", sa.String(200), primary_key=True),
            sa.Column("position", sa.Integer, primary_key=True),
            sa.Column("kind", sa.String(50), nullable=False),
            sa.Column("level", sa.Integer, nullable=False),
            sa.Column("to_ref", sa.String(200), nullable=False, index=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("obligation_id", sa.String(200)),
        )
    sa.Table(
        "outbox",
        md,
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("plan_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("to_id", sa.String(200), nullable=False),
        sa.Column("to_role", sa.String(100), nullable=False),
        sa.Column("to_email", sa.String(320)),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("obligation_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_until", sa.DateTime(timezone=True)),
    )
    if shape == "0.1.0":
        sa.Table(
            "audit",
            md,
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
            sa.Index("ix_audit_plan_at", "plan_id", "at"),
            sa.Index("ix_audit_who_at", "who", "at"),
        )
    return md


AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a moment in the old data, not a scenario's clock
STATUS = {
    "plan_id": PLAN_ID,
    "policy": "london",
    "state": "active",
    "icpc_date": "2026-02-02",
    "overdue_count": 1,
    "escalations": [
        {"kind": "visit", "level": 1, "to": ESCALATED_TO, "at": "2026-03-02T09:00:00+00:00", "obligation_id": "visit-1"}
    ],
}


def fill(conn: sa.Connection, md: sa.MetaData) -> None:
    """One plan with an overdue visit escalated to its team manager, its obligations, a letter in
    the outbox, and (where the tables exist) its escalation row and two audit rows."""
    t = md.tables
    plan = {
        "plan_id": PLAN_ID,
        "policy": "london",
        "state": "active",
        "icpc_date": date(2026, 2, 2),
        "team_ref": ESCALATED_TO,
        "lead_ref": "sw-rel",
        "next_due_date": date(2026, 2, 16),
        "next_due_kind": "visit",
        "overdue_count": 1,
        "status_json": json.dumps(STATUS, sort_keys=True),
        "updated_at": AT,
    }
    if "execution_status" in t["plans"].c:
        plan["execution_status"] = "running"
        plan["execution_checked_at"] = AT
    conn.execute(t["plans"].insert().values(**plan))
    conn.execute(
        t["obligations"].insert(),
        [
            {
                "plan_id": PLAN_ID,
                "obligation_id": "visit-1",
                "kind": "visit",
                "due": date(2026, 2, 16),
                "status": "escalated",
            },
            {
                "plan_id": PLAN_ID,
                "obligation_id": "cg-1",
                "kind": "core_group",
                "due": date(2026, 2, 16),
                "status": "met",
                "met_on": date(2026, 2, 10),
            },
        ],
    )
    conn.execute(
        t["outbox"]
        .insert()
        .values(
            key=f"{PLAN_ID}:visit-1:escalation:1:{ESCALATED_TO}",
            plan_id=PLAN_ID,
            kind="escalation",
            to_id=ESCALATED_TO,
            to_role="team-manager",
            to_email="tm-rel@council.example",
            subject="Visit overdue",
            body="The child's visit is overdue.",
            obligation_id="visit-1",
            created_at=AT,
            state="sent",
            attempts=1,
            sent_at=AT,
        )
    )
    if "escalations" in t:
        conn.execute(
            t["escalations"]
            .insert()
            .values(
                plan_id=PLAN_ID, position=0, kind="visit", level=1, to_ref=ESCALATED_TO, at=AT, obligation_id="visit-1"
            )
        )
    if "audit" in t:
        for i, action in enumerate(AUDIT_ACTIONS):
            conn.execute(
                t["audit"]
                .insert()
                .values(
                    at=AT,
                    who="sw-rel",
                    roles="social-worker",
                    via="api",
                    method="POST" if i == 0 else "GET",
                    action=action,
                    plan_id=PLAN_ID,
                    status=200,
                    outcome="ok",
                )
            )


def create(url: str, shape: str = "0.1.0") -> None:
    """A database at `url` (empty beforehand) as the release before migrations left it."""
    md = tables(shape)
    engine = sa.create_engine(url)
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            fill(conn, md)
    finally:
        engine.dispose()
