"""`save_plan` and the read-model queries the command line uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError

from activities.db import get_engine, obligations
from activities.read_model import get_plan_status, overdue_plans, save_plan
from tests.activities.activity_test_support import run_activity
from workflows.activity_io import PlanSnapshot

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured


def status(plan_id: str = "P-1", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "plan_id": plan_id,
        "child_ref": "C-1",
        "policy": "london",
        "state": "active",
        "icpc_date": "2026-11-02",
        "lead_social_worker": "sw-1",
        "team_manager": "tm-1",
        "obligations": [
            {"id": "first-core-group", "kind": "first-core-group", "due": "2026-11-13", "status": "overdue"},
            {"id": "visit-1", "kind": "visit", "due": "2026-11-16", "status": "met", "met_on": "2026-11-12"},
            {"id": "review-1", "kind": "review-conference", "due": "2027-02-01", "status": "pending"},
        ],
        "overdue_count": 1,
        "escalations": [
            {
                "kind": "overdue",
                "level": 1,
                "to": "tm-1",
                "at": "2026-11-16T09:00:00+00:00",
                "obligation_id": "first-core-group",
            }
        ],
        "next_due": {"id": "first-core-group", "kind": "first-core-group", "due": "2026-11-13", "description": "x"},
        "history": [],
    }
    base.update(changes)
    return base


def obligation_rows(plan_id: str = "P-1") -> dict[str, tuple[str, str]]:
    with get_engine().connect() as conn:
        rows = conn.execute(sa.select(obligations).where(obligations.c.plan_id == plan_id)).all()
    return {r.obligation_id: (r.status, r.met_on.isoformat() if r.met_on else None) for r in rows}


async def test_save_inserts_the_plan_and_its_obligations() -> None:
    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=status(), updated_at=T0))

    assert get_plan_status("P-1") == status()
    assert obligation_rows() == {
        "first-core-group": ("overdue", None),
        "visit-1": ("met", "2026-11-12"),
        "review-1": ("pending", None),
    }
    [late] = overdue_plans()
    assert late["plan_id"] == "P-1"
    assert (late["team_ref"], late["lead_ref"]) == ("tm-1", "sw-1")
    assert (late["next_due_date"], late["next_due_kind"]) == ("2026-11-13", "first-core-group")
    assert [o["obligation_id"] for o in late["overdue"]] == ["first-core-group"]
    assert late["updated_at"] == T0.isoformat()


async def test_a_later_save_replaces_the_row_and_the_obligations() -> None:
    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=status(), updated_at=T0))
    newer = status(
        obligations=[
            {
                "id": "first-core-group",
                "kind": "first-core-group",
                "due": "2026-11-13",
                "status": "met-late",
                "met_on": "2026-11-17",
            },
            {
                "id": "signature-1-hv-1",
                "kind": "signature",
                "due": "2026-11-24",
                "status": "pending",
                "member_id": "hv-1",
            },
        ],
        overdue_count=0,
        next_due={"id": "signature-1-hv-1", "kind": "signature", "due": "2026-11-24"},
    )

    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=newer, updated_at=T0 + timedelta(days=1)))

    assert obligation_rows() == {"first-core-group": ("met-late", "2026-11-17"), "signature-1-hv-1": ("pending", None)}
    assert get_plan_status("P-1")["overdue_count"] == 0
    assert overdue_plans() == []


async def test_an_older_snapshot_arriving_late_changes_nothing() -> None:
    newer = status(state="ended", overdue_count=0, next_due=None, obligations=[])
    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=newer, updated_at=T0 + timedelta(hours=1)))

    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=status(), updated_at=T0))

    assert get_plan_status("P-1")["state"] == "ended"
    assert obligation_rows() == {}


async def test_only_active_plans_with_overdue_obligations_are_listed() -> None:
    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=status(), updated_at=T0))
    await run_activity(save_plan, PlanSnapshot(plan_id="P-2", status=status("P-2", overdue_count=0), updated_at=T0))
    # Ended, nothing left owed (the first core group's overdue count is stale on purpose).
    ended = status("P-3", state="ended", obligations=[status()["obligations"][1]])
    await run_activity(save_plan, PlanSnapshot(plan_id="P-3", status=ended, updated_at=T0))

    assert [p["plan_id"] for p in overdue_plans()] == ["P-1"]


async def test_a_status_without_its_required_fields_is_refused() -> None:
    with pytest.raises(ApplicationError) as raised:
        await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status={"plan_id": "P-1"}, updated_at=T0))

    assert raised.value.type == "InvalidPayload"
    assert raised.value.non_retryable
    assert get_plan_status("P-1") is None


async def test_an_ended_plan_that_still_owes_its_conference_record_stays_on_the_lists() -> None:
    """002 'Conference record': a plan ended at review still owes the record. Until it is
    recorded the plan stays on the overdue and work lists, and the watchdog checks its workflow;
    a plan ended with nothing owed leaves them."""
    from activities.plan_health import active_plans
    from activities.read_model import open_obligations

    owing = status(
        "P-OWES",
        state="ended",
        obligations=[
            {
                "id": "review-1",
                "kind": "review-conference",
                "due": "2026-11-13",
                "status": "met",
                "met_on": "2026-11-13",
            },
            {"id": "conference-record-1", "kind": "conference-record", "due": "2026-11-12", "status": "overdue"},
        ],
    )
    done = status("P-DONE", state="ended", obligations=[], overdue_count=0, next_due=None)
    for snapshot in (owing, done):
        await run_activity(save_plan, PlanSnapshot(plan_id=snapshot["plan_id"], status=snapshot, updated_at=T0))

    assert [p["plan_id"] for p in overdue_plans()] == ["P-OWES"]
    assert [(o["plan_id"], o["obligation_id"]) for o in open_obligations()] == [("P-OWES", "conference-record-1")]
    assert [plan_id for plan_id, _ in active_plans()] == ["P-OWES"]


def escalation(to: str, at: datetime, obligation_id: str | None = "first-core-group", level: int = 1) -> dict[str, Any]:
    found: dict[str, Any] = {"kind": "overdue", "level": level, "to": to, "at": at.isoformat()}
    if obligation_id is not None:
        found["obligation_id"] = obligation_id
    return found


async def test_a_managers_escalations_are_listed_latest_first_from_every_plan_still_owing() -> None:
    from starters.web.work import escalations_to

    first, second = escalation("tm-1", T0), escalation("sm-1", T0 + timedelta(days=1), level=2)
    await run_activity(
        save_plan, PlanSnapshot(plan_id="P-1", status=status(escalations=[first, second]), updated_at=T0)
    )
    late = escalation("tm-1", T0 + timedelta(days=2), obligation_id=None)
    other_team = status("P-2", team_manager="tm-2", escalations=[late])
    await run_activity(save_plan, PlanSnapshot(plan_id="P-2", status=other_team, updated_at=T0))
    # Ended with nothing owed: its escalations are history, not work.
    ended = status("P-3", state="ended", obligations=[status()["obligations"][1]], escalations=[first])
    await run_activity(save_plan, PlanSnapshot(plan_id="P-3", status=ended, updated_at=T0))

    assert escalations_to("tm-1") == [{"plan_id": "P-2", **late}, {"plan_id": "P-1", **first}]
    assert escalations_to("tm-1", team="tm-1") == [{"plan_id": "P-1", **first}]
    assert escalations_to("sm-1") == [{"plan_id": "P-1", **second}]

    # A later save is the plan's list as it now stands.
    await run_activity(
        save_plan, PlanSnapshot(plan_id="P-1", status=status(escalations=[second]), updated_at=T0 + timedelta(hours=1))
    )
    assert escalations_to("tm-1") == [{"plan_id": "P-2", **late}]


async def test_a_database_from_before_the_escalations_table_is_filled_from_the_saved_statuses() -> None:
    from activities.db import escalations, reset_engine_cache
    from starters.web.work import escalations_to

    first = escalation("tm-1", T0)
    await run_activity(save_plan, PlanSnapshot(plan_id="P-1", status=status(escalations=[first]), updated_at=T0))
    with get_engine().begin() as conn:
        # As an earlier release left it: no escalations table, no schema version (it is adopted).
        conn.execute(sa.text("DROP TABLE escalations"))
        conn.execute(sa.text("DROP TABLE alembic_version"))
    reset_engine_cache()

    assert escalations_to("tm-1") == [{"plan_id": "P-1", **first}]
    with get_engine().connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(escalations)).scalar() == 1
