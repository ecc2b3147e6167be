"""Work lists from the read model: what is overdue and what falls due soon, per plan and person.

The read model is a copy the worker keeps current; the plan itself stays the truth (a page
shows the plan's own status). "Due soon" counts working days in each plan's own profile.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from activities import read_model
from activities.db import escalations, get_engine, plans

DEFAULT_DUE_WITHIN = 10


def work_items(
    today: date, *, team: str | None = None, person: str | None = None, due_within: int = DEFAULT_DUE_WITHIN
) -> list[dict[str, Any]]:
    """Open obligations of active plans, overdue first then by due date; each says whether it
    is overdue. `team` is the team manager's id, `person` the lead social worker's."""
    rows = read_model.open_obligations(team=team, worker=person)
    late = [r for r in rows if r["status"] in read_model.OVERDUE_STATUSES]
    soon = read_model.due_within([r for r in rows if r["status"] not in read_model.OVERDUE_STATUSES], today, due_within)
    items = [
        {
            "plan_id": r["plan_id"],
            "obligation_id": r["obligation_id"],
            "kind": r["kind"],
            "due": str(r["due"]),
            "status": r["status"],
            "overdue": r["status"] in read_model.OVERDUE_STATUSES,
            "team": r["team_ref"],
            "lead_social_worker": r["lead_ref"],
        }
        for r in late + soon
    ]
    items.sort(key=order)
    return items


def order(item: dict[str, Any]) -> tuple[bool, str, str, str]:
    """Overdue first, then by due date; plan and obligation make each item's place unique (a
    page of the API's work list starts after the last item's place)."""
    return (not item["overdue"], item["due"], item["plan_id"], item["obligation_id"])


def escalations_to(person: str, team: str | None = None) -> list[dict[str, Any]]:
    """Escalations addressed to `person` on plans still owing something, latest first, each as
    the plan's status lists it (its fields, plus `plan_id`)."""
    query = (
        sa.select(escalations)
        .join(plans, plans.c.plan_id == escalations.c.plan_id)
        .where(escalations.c.to_ref == person, read_model.still_owing())
    )
    if team:
        query = query.where(plans.c.team_ref == team)
    with get_engine().connect() as conn:
        found = conn.execute(
            query.order_by(escalations.c.at.desc(), escalations.c.plan_id, escalations.c.position)
        ).all()
    return [
        {
            "plan_id": row.plan_id,
            "kind": row.kind,
            "level": row.level,
            "to": row.to_ref,
            "at": row.at.isoformat(),
            **({"obligation_id": row.obligation_id} if row.obligation_id is not None else {}),
        }
        for row in found
    ]
