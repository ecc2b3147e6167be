"""The read model's save records the events its status brings, in the same transaction, each once
however often the save is retried, with a pending delivery to every configured endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from activities.db import event_deliveries, events, get_engine, plans
from activities.event_facts import event_id
from activities.read_model import save_plan
from tests.activities.activity_test_support import run_activity
from tests.activities.test_activity_read_model import status
from workflows.activity_io import PlanSnapshot

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured


def recorded() -> list[tuple[str, str]]:
    with get_engine().connect() as conn:
        return [(r.key, r.type) for r in conn.execute(sa.select(events.c.key, events.c.type).order_by(events.c.key))]


def deliveries() -> list[tuple[str, str, str]]:
    with get_engine().connect() as conn:
        rows = conn.execute(
            sa.select(event_deliveries).order_by(event_deliveries.c.event_id, event_deliveries.c.endpoint)
        )
        return [(r.event_id, r.endpoint, r.state) for r in rows]


async def save(st: dict[str, Any], at: datetime) -> None:
    await run_activity(save_plan, PlanSnapshot(plan_id=st["plan_id"], status=st, updated_at=at))


async def test_a_first_save_records_what_the_status_says_and_a_retry_adds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPPLAN_WEBHOOK_URL", "https://case-system.example/events")
    monkeypatch.setenv("CPPLAN_WEBHOOK_URL_2", "https://other.example/events")

    await save(status(), T0)
    await save(status(), T0)  # the same snapshot again: Temporal retried the activity

    assert recorded() == [
        ("P-1:escalation:overdue:1:first-core-group:2026-11-16T09:00:00+00:00", "uk.gov.cpplan.plan.escalated"),
        ("P-1:first-core-group:overdue", "uk.gov.cpplan.obligation.overdue"),
        ("P-1:started", "uk.gov.cpplan.plan.started"),
        ("P-1:visit-1:met", "uk.gov.cpplan.obligation.met"),
    ]
    started = event_id("P-1:started")
    assert (started, "1", "pending") in deliveries() and (started, "2", "pending") in deliveries()
    assert len(deliveries()) == 8
    with get_engine().connect() as conn:
        body = json.loads(conn.execute(sa.select(events.c.body).where(events.c.event_id == started)).scalar_one())
    assert (body["type"], body["subject"], body["id"]) == ("uk.gov.cpplan.plan.started", "P-1", started)


async def test_a_later_save_records_only_what_changed_and_an_older_one_nothing() -> None:
    await save(status(), T0)
    met = status(
        obligations=[
            {
                "id": "first-core-group",
                "kind": "first-core-group",
                "due": "2026-11-13",
                "status": "met-late",
                "met_on": "2026-11-21",
            },
            {"id": "visit-1", "kind": "visit", "due": "2026-11-16", "status": "met", "met_on": "2026-11-12"},
            {"id": "review-1", "kind": "review-conference", "due": "2027-02-01", "status": "pending"},
        ],
        overdue_count=0,
    )
    before = set(recorded())
    await save(met, T0 + timedelta(days=1))
    assert set(recorded()) - before == {("P-1:first-core-group:met", "uk.gov.cpplan.obligation.met")}

    # A retried save of an older status arrives late: the row is not rolled back, and nothing new.
    ended = status(state="ended", ended_on="2026-11-19", end_reason="x")
    await save(ended, T0 - timedelta(hours=1))
    assert ("P-1:ended", "uk.gov.cpplan.plan.ended") not in recorded()
    # With no endpoint configured the events are recorded, with nothing to deliver.
    assert deliveries() == []


async def test_a_plan_saved_before_events_tells_only_what_happens_from_then_on() -> None:
    # A row written by an earlier release: its facts were never sent, nor are they now.
    with get_engine().begin() as conn:
        conn.execute(
            plans.insert().values(
                plan_id="P-1",
                policy="london",
                state="active",
                icpc_date=datetime(2026, 11, 2).date(),
                overdue_count=1,
                status_json=json.dumps(status()),
                updated_at=T0,
            )
        )
    await save(status(reviews_held=1), T0 + timedelta(days=1))
    assert recorded() == [("P-1:review:1", "uk.gov.cpplan.review.held")]
