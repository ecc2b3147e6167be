"""Work lists from the read model: what is overdue and what falls due soon, per plan and person.

The read model is a copy the worker keeps current; the plan itself stays the truth (a page
shows the plan's own status). "Due soon" counts working days in each plan's own profile.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from activities import read_model
from activities.db import deliveries, escalations, get_engine, obligations, plans

DEFAULT_DUE_WITHIN = 10


def work_items(
    today: date,
    *,
    team: str | None = None,
    person: str | None = None,
    due_within: int = DEFAULT_DUE_WITHIN,
    with_policy: bool = False,
) -> list[dict[str, Any]]:
    """Open obligations of active plans, overdue first then by due date; each says whether it
    is overdue. `team` is the team manager's id, `person` the lead social worker's. The API's
    items are exactly these; the pages also want each plan's `policy` (its working days)."""
    rows = read_model.open_obligations(team=team, worker=person)
    late = [r for r in rows if r["status"] in read_model.OVERDUE_STATUSES]
    soon = read_model.due_within([r for r in rows if r["status"] not in read_model.OVERDUE_STATUSES], today, due_within)
    items = [_item(r, team=True, policy=with_policy) for r in late + soon]
    items.sort(key=order)
    return items


def _item(r: dict[str, Any], *, team: bool, policy: bool) -> dict[str, Any]:
    """One open obligation of the read model as the work lists give it."""
    return {
        "plan_id": r["plan_id"],
        "obligation_id": r["obligation_id"],
        "kind": r["kind"],
        "due": str(r["due"]),
        "status": r["status"],
        "overdue": r["status"] in read_model.OVERDUE_STATUSES,
        **({"team": r["team_ref"]} if team else {}),
        "lead_social_worker": r["lead_ref"],
        **({"policy": r["policy"]} if policy else {}),
    }


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


# An early review request waits for the team manager's decision: theirs, not the worker's.
MANAGERS_DECISIONS = frozenset({"early-review-decision"})


def decisions_for(manager: str) -> list[dict[str, Any]]:
    """The decisions waiting for a team manager on their team's plans, earliest due first,
    however far ahead they fall due."""
    rows = read_model.open_obligations(team=manager)
    return [_item(r, team=False, policy=True) for r in rows if r["kind"] in MANAGERS_DECISIONS]


def escalations_by_plan(person: str, team: str | None = None) -> list[dict[str, Any]]:
    """`escalations_to(person)`, grouped by plan (the plan with the latest first), each with
    the kind and due date of the obligation it was about, so a page can say it in words."""
    found = escalations_to(person, team)
    ids = {(e["plan_id"], e["obligation_id"]) for e in found if "obligation_id" in e}
    about: dict[tuple[str, str], tuple[str, str]] = {}
    if ids:
        o = obligations
        query = sa.select(o.c.plan_id, o.c.obligation_id, o.c.kind, o.c.due).where(
            o.c.plan_id.in_({plan for plan, _ in ids})
        )
        with get_engine().connect() as conn:
            about = {(r.plan_id, r.obligation_id): (r.kind, str(r.due)) for r in conn.execute(query)}
    grouped: dict[str, dict[str, Any]] = {}
    for e in found:
        kind_due = about.get((e["plan_id"], e.get("obligation_id", "")))
        entry = {**e, "obligation_kind": kind_due[0], "obligation_due": kind_due[1]} if kind_due else dict(e)
        grouped.setdefault(e["plan_id"], {"plan_id": e["plan_id"], "escalations": []})["escalations"].append(entry)
    return list(grouped.values())


def plan_people(plan_id: str) -> dict[str, Any] | None:
    """The plan's lead social worker and team manager as the read model last saved them (who may
    see its history), or None for a plan it does not hold."""
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(plans.c.lead_ref, plans.c.team_ref).where(plans.c.plan_id == plan_id)).first()
    return None if row is None else {"lead_social_worker": row.lead_ref, "team_manager": row.team_ref}


def undelivered(*, team: str | None = None, person: str | None = None) -> list[dict[str, Any]]:
    """Messages of these plans that were not delivered (a delivery receipt said so, or none came
    in time: activities/receipts.py), latest first: the people in them were not told."""
    query = (
        sa.select(deliveries)
        .join(plans, plans.c.plan_id == deliveries.c.plan_id)
        .where(deliveries.c.state == "undelivered", read_model.still_owing())
    )
    if team:
        query = query.where(plans.c.team_ref == team)
    if person:
        query = query.where(plans.c.lead_ref == person)
    with get_engine().connect() as conn:
        found = conn.execute(query.order_by(deliveries.c.confirmed_at.desc(), deliveries.c.reference)).all()
    return [
        {
            "plan_id": row.plan_id,
            "key": row.key,
            "to": row.to_id,
            "channel": row.channel,
            "medium": row.medium,
            "status": row.provider_status,
            "at": row.confirmed_at.isoformat() if row.confirmed_at else None,
            "plan_told": row.reported_at is not None,
        }
        for row in found
    ]
