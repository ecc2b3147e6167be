"""Work lists from the read model: what is overdue and what falls due soon, per plan and person.

The read model is a copy the worker keeps current; the plan itself stays the truth (a page
shows the plan's own status). "Due soon" counts working days in each plan's own profile.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa

from activities.db import get_engine, obligations, plans
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.policy import get_profile

OPEN_STATUSES = ("pending", "overdue", "escalated")
LATE_STATUSES = ("overdue", "escalated")
DEFAULT_DUE_WITHIN = 10


@cache
def _calendar(policy: str, year: int) -> WorkingCalendar:
    profile = get_profile(policy)
    return WorkingCalendar(non_working_days(profile.region, year - 1, year + 2, profile.closure_days))


def due_by(policy: str, today: date, working_days: int) -> date:
    """The last day that is within `working_days` working days of today in this profile."""
    try:
        return _calendar(policy, today.year).add_working_days(today, working_days)
    except Exception:  # an unknown or broken profile: count calendar weeks instead
        return date.fromordinal(today.toordinal() + working_days * 7 // 5)


def work_items(
    today: date, *, team: str | None = None, person: str | None = None, due_within: int = DEFAULT_DUE_WITHIN
) -> list[dict[str, Any]]:
    """Open obligations of active plans, overdue first then by due date; each says whether it
    is overdue. `team` is the team manager's id, `person` the lead social worker's."""
    query = (
        sa.select(
            obligations.c.plan_id,
            obligations.c.obligation_id,
            obligations.c.kind,
            obligations.c.due,
            obligations.c.status,
            plans.c.policy,
            plans.c.team_ref,
            plans.c.lead_ref,
        )
        .join(plans, plans.c.plan_id == obligations.c.plan_id)
        .where(plans.c.state == "active", obligations.c.status.in_(OPEN_STATUSES))
        .order_by(obligations.c.due, obligations.c.plan_id, obligations.c.obligation_id)
    )
    if team:
        query = query.where(plans.c.team_ref == team)
    if person:
        query = query.where(plans.c.lead_ref == person)
    with get_engine().connect() as conn:
        found = conn.execute(query).all()
    items = []
    for row in found:
        overdue = row.status in LATE_STATUSES
        if not overdue and row.due > due_by(row.policy, today, due_within):
            continue
        items.append(
            {
                "plan_id": row.plan_id,
                "obligation_id": row.obligation_id,
                "kind": row.kind,
                "due": row.due.isoformat(),
                "status": row.status,
                "overdue": overdue,
                "team": row.team_ref,
                "lead_social_worker": row.lead_ref,
            }
        )
    items.sort(key=lambda i: (not i["overdue"], i["due"], i["plan_id"]))
    return items


def escalations_to(person: str, team: str | None = None) -> list[dict[str, Any]]:
    """Escalations addressed to `person` on active plans (from each plan's saved status)."""
    query = sa.select(plans.c.plan_id, plans.c.status_json).where(plans.c.state == "active")
    if team:
        query = query.where(plans.c.team_ref == team)
    with get_engine().connect() as conn:
        found = conn.execute(query.order_by(plans.c.plan_id)).all()
    out = []
    for row in found:
        for e in json.loads(row.status_json).get("escalations") or []:
            if e.get("to") == person:
                out.append({"plan_id": row.plan_id, **e})
    out.sort(key=lambda e: e.get("at") or "", reverse=True)
    return out
