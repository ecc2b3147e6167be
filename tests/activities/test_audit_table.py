"""The web front door's audit table on each read-model backend (SQLite; PostgreSQL in CI)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from starters.web import audit

pytestmark = pytest.mark.all_databases


def test_audit_rows_round_trip() -> None:
    plan_id = f"audit-{uuid.uuid4().hex[:8]}"
    at = datetime.now(UTC).replace(microsecond=0)
    for i, (who, status) in enumerate([("sw-1", 200), (None, 401), ("tm-1", 403)]):
        audit.write(
            {
                "at": at + timedelta(seconds=i),
                "who": who,
                "roles": "social-worker" if who else None,
                "via": "api",
                "method": "POST",
                "action": "record-visit",
                "plan_id": plan_id,
                "status": status,
                "outcome": "done" if status == 200 else "refused",
            }
        )
    rows = audit.rows(plan_id)
    assert [(r["who"], r["status"]) for r in rows] == [("sw-1", 200), (None, 401), ("tm-1", 403)]
    assert rows[0]["at"] == at and rows[0]["at"].tzinfo is not None
    assert rows[0]["id"] < rows[1]["id"] < rows[2]["id"]
