"""Work lists from the read model: what is overdue and what falls due soon, per plan and person.

The read model is a copy the worker keeps current; the plan itself stays the truth (a page
shows the plan's own status). "Due soon" counts working days in each plan's own profile.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa

from activities import read_model
from activities.db import get_engine, plans

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
    items.sort(key=lambda i: (not i["overdue"], i["due"], i["plan_id"]))
    return items


def escalations_to(person: str, team: str | None = None) -> list[dict[str, Any]]:
    """Escalations addressed to `person` on plans still owing something (from each plan's saved
    status)."""
    query = sa.select(plans.c.plan_id, plans.c.status_json).where(read_model.still_owing())
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
