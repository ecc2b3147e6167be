"""Search attributes ops staff filter plans by in the Temporal UI, e.g.
`PlanState = "active" AND OverdueCount > 0`. Opaque references and dates only: no names."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate

PLAN_STATE = SearchAttributeKey.for_keyword("PlanState")
POLICY = SearchAttributeKey.for_keyword("PlanPolicy")
TEAM_REF = SearchAttributeKey.for_keyword("TeamRef")
NEXT_DUE = SearchAttributeKey.for_datetime("NextDue")
OVERDUE_COUNT = SearchAttributeKey.for_int("OverdueCount")

ALL = (PLAN_STATE, POLICY, TEAM_REF, NEXT_DUE, OVERDUE_COUNT)


def values_from_status(status: dict[str, Any]) -> dict[str, Any]:
    nxt = status.get("next_due")
    due = None
    if nxt:
        due = datetime.combine(datetime.fromisoformat(nxt["due"]).date(), time(0), tzinfo=UTC)
    return {
        PLAN_STATE.name: status["state"],
        POLICY.name: status["policy"],
        TEAM_REF.name: status["team_manager"],
        NEXT_DUE.name: due,
        OVERDUE_COUNT.name: status["overdue_count"],
    }


def updates(values: dict[str, Any]) -> list[SearchAttributeUpdate[Any]]:
    out: list[SearchAttributeUpdate[Any]] = []
    for key in ALL:
        value = values[key.name]
        out.append(key.value_set(value) if value is not None else key.value_unset())
    return out


def initial(status: dict[str, Any]) -> list[SearchAttributePair[Any]]:
    return [SearchAttributePair(k, v) for k in ALL if (v := values_from_status(status)[k.name]) is not None]
