"""Build plans for the pure engine tests: London local wall-clock times, real calendars."""

from datetime import date, datetime, time
from typing import Any

from workflows import models as m
from workflows.calendar import LONDON, WorkingCalendar, non_working_days
from workflows.engine import PlanEngine
from workflows.policy import get_profile


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=LONDON)


def start_doc(policy: str = "london", icpc: str = "2026-11-23", **overrides: Any) -> dict[str, Any]:
    doc = {
        "plan_id": "p-1",
        "child_ref": "c-1",
        "policy": policy,
        "icpc_date": icpc,
        "category": "neglect",
        "lead_social_worker": {"id": "sw-1", "role": "lead-social-worker", "email": "sw-1@example.org"},
        "team_manager": {"id": "tm-1", "role": "team-manager", "email": "tm-1@example.org"},
        "service_manager": {"id": "sm-1", "role": "service-manager", "email": "sm-1@example.org"},
        "core_group": [
            {"id": "hv-1", "email": "hv-1@example.org"},
            {"id": "par-1", "role": "parent", "email": "par-1@example.org"},
        ],
    }
    doc.update(overrides)
    return doc


def new_plan(
    policy: str = "london", icpc: str = "2026-11-23", now: datetime | None = None, **overrides: Any
) -> PlanEngine:
    profile = get_profile(policy)
    cal = WorkingCalendar(non_working_days(profile.region, 2025, 2030, profile.closure_days))
    start = m.parse(m.PlanStart, start_doc(policy, icpc, **overrides))
    return PlanEngine.begin(start, profile, cal, now or at(icpc, 15))


def obligation(plan: PlanEngine, ident: str, now: datetime) -> dict[str, Any]:
    return next(o for o in plan.status(now).as_json()["obligations"] if o["id"] == ident)


def sent(plan: PlanEngine) -> list[tuple[str, str, str | None]]:
    """(kind, to, obligation) of every notification still in the outbox, then empties it."""
    out = [(n.kind, n.to_id, n.obligation_id) for n in plan.state.outbox]
    plan.state.outbox.clear()
    return out


def finished_once_final(plan: PlanEngine) -> bool:
    """Whether the ended plan completes once its ending is final: open (not finished) for 30
    days after the ending was recorded, in case it was recorded in error (`reopen_plan`)."""
    until = plan.state.reopen_by
    if until is None:
        return plan.finished
    assert not plan.finished and plan.next_wakeup() == until
    plan.fire(until)
    return plan.finished
