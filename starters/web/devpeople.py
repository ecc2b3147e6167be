"""The people a development sign-in offers: the demo plan's (starters/demo_plan.json), then every
plan's in the read model (its lead social worker, team manager and service manager), so a plan
started from the README's walkthrough can be opened by its own people."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa

from activities.db import get_engine, plans

# The plan's roles as sign-in roles.
_ROLE = {"lead_social_worker": "social-worker", "team_manager": "team-manager", "service_manager": "service-manager"}
_WORDS = {
    "social-worker": "Social worker",
    "team-manager": "Team manager",
    "service-manager": "Service manager",
    "case-system": "Case system",
    "ops": "Operations",
}


@cache
def _demo() -> dict[str, Any]:
    return dict(json.loads(resources.files("starters").joinpath("demo_plan.json").read_text()))


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _plans_people() -> list[tuple[str, str, str]]:
    """(staff id, role, plan id) of every plan's people in the read model; none if it cannot be read."""
    try:
        with get_engine().connect() as conn:
            rows = conn.execute(sa.select(plans.c.plan_id, plans.c.status_json).order_by(plans.c.plan_id)).all()
    except sa.exc.SQLAlchemyError:
        return []
    found = []
    for row in rows:
        try:
            status = json.loads(row.status_json)
        except ValueError:
            continue
        for field, role in _ROLE.items():
            if who := _ref(status.get(field)):
                found.append((who, role, row.plan_id))
        # The status names its other managers (the service manager, ...) only among `managers`.
        team = _ref(status.get("team_manager"))
        managers = status.get("managers") if isinstance(status.get("managers"), list) else []
        found += [(str(m), "service-manager", row.plan_id) for m in managers if m and str(m) != team]
    return found


def dev_people() -> list[dict[str, Any]]:
    """Each person once, with their role and the plans they are on (the demo plan's first)."""
    demo = _demo()
    found = [(_ref(demo.get(f)), role, str(demo["plan_id"])) for f, role in _ROLE.items() if demo.get(f)]
    people: dict[tuple[str, str], list[str]] = {}
    for staff_id, role, plan_id in [*found, *_plans_people()]:
        if staff_id:
            plan_ids = people.setdefault((staff_id, role), [])
            if plan_id not in plan_ids:
                plan_ids.append(plan_id)
    return [
        {
            "staff_id": staff_id,
            "role": role,
            "words": f"{_WORDS[role]}: {', '.join(ids[:3])}{' and others' if len(ids) > 3 else ''}",
        }
        for (staff_id, role), ids in people.items()
    ]
