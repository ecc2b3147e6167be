"""Search attributes ops staff filter plans by in the Temporal UI, e.g.
`ExecutionStatus = "Running" AND PlanState = "active" AND OverdueCount > 0` (each review
conference continues the plan as new, and the closed run keeps the values it had: the
execution status is what tells the current run). Opaque references and dates only: no names."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate

from workflows.calendar import local_instant

PLAN_STATE = SearchAttributeKey.for_keyword("PlanState")
POLICY = SearchAttributeKey.for_keyword("PlanPolicy")
TEAM_REF = SearchAttributeKey.for_keyword("TeamRef")
NEXT_DUE = SearchAttributeKey.for_datetime("NextDue")
OVERDUE_COUNT = SearchAttributeKey.for_int("OverdueCount")

ALL = (PLAN_STATE, POLICY, TEAM_REF, NEXT_DUE, OVERDUE_COUNT)


def values_from_status(status: dict[str, Any]) -> dict[str, Any]:
    nxt = status.get("next_due")
    due = next_due_instant(date.fromisoformat(nxt["due"][:10])) if nxt else None
    return {
        PLAN_STATE.name: status["state"],
        POLICY.name: status["policy"],
        TEAM_REF.name: status["team_manager"],
        NEXT_DUE.name: due,
        OVERDUE_COUNT.name: status["overdue_count"],
    }


def next_due_instant(day: date) -> datetime:
    """NextDue as the UI shows it: the due day at 09:00 Europe/London, when reminders go out,
    rather than midnight UTC, which a UI showing local time puts at 01:00 in summer and one
    showing another zone may put on the day before."""
    return local_instant(day, time(9)).astimezone(UTC)


def updates(values: dict[str, Any]) -> list[SearchAttributeUpdate[Any]]:
    out: list[SearchAttributeUpdate[Any]] = []
    for key in ALL:
        value = values[key.name]
        out.append(key.value_set(value) if value is not None else key.value_unset())
    return out


def initial(status: dict[str, Any]) -> list[SearchAttributePair[Any]]:
    return [SearchAttributePair(k, v) for k in ALL if (v := values_from_status(status)[k.name]) is not None]
