"""The people a development sign-in offers: the demo plan's (starters/demo_plan.json)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# The demo plan's roles as sign-in roles.
_ROLE = {"lead_social_worker": "social-worker", "team_manager": "team-manager", "service_manager": "service-manager"}
_WORDS = {
    "social-worker": "Social worker (lead for the demo plan)",
    "team-manager": "Team manager",
    "service-manager": "Service manager",
    "case-system": "Case system",
    "ops": "Operations",
}


@cache
def dev_people() -> list[dict[str, Any]]:
    doc = json.loads(resources.files("starters").joinpath("demo_plan.json").read_text())
    people = [
        {"staff_id": doc[field]["id"], "role": role, "words": _WORDS[role]}
        for field, role in _ROLE.items()
        if doc.get(field)
    ]
    return people
