"""Who may send what on a plan, read from its status (`entitled`): checked before anything is
sent, by the command line and the HTTP API alike, and again by the workflow where a message
has a `by`."""

from __future__ import annotations

from typing import Any

from starters.cases.messages import PLANS, ClientMessage
from workflows import models as m
from workflows.message_spec import CAPACITY_WORDS
from workflows.status import PlanStatus

# Each message's capacity (workflows/message_spec.py): what a sender is checked against.
CAPACITY: dict[str, str] = {name: message.capacity for name, message in PLANS.messages.items()}


def entitled_ids(status: PlanStatus, capacity: str) -> list[str] | None:
    """Who holds `capacity` on the plan, from its status. A run older than the status's
    `entitled` (null, or absent from an older worker) gives only its lead social worker and
    managers: a practitioner's capacity is checked against them, a manager's against `managers`,
    and the service manager's is left to the workflow (None)."""
    if status.entitled is not None and capacity in status.entitled:
        return list(status.entitled[capacity])
    if status.managers is None or capacity == "service-manager":
        return None
    lead = [status.lead_social_worker] if capacity == "practitioner" else []
    return list(dict.fromkeys([*lead, *status.managers]))


def reports_take_by(status: PlanStatus) -> bool:
    """Whether the plan's run reads a report's `by` (entitled-senders): one that started before
    it reads a report with a `by` as one it cannot read, so none is sent to it."""
    return status.entitled is not None


def check_entitled(name: str, person: str | None, status: PlanStatus, *, field: str = "by") -> None:
    """`person` holds the capacity `name` needs on this plan, else `m.NotEntitled`."""
    capacity = CAPACITY[name]
    ids = entitled_ids(status, capacity)
    if ids is None or person in ids:
        return
    reason = f"{person!r} is not {CAPACITY_WORDS[capacity]} ({', '.join(ids)}); nothing was sent"
    raise m.NotEntitled.one(field, reason)


# A manager's decision only sometimes: moving a set review conference (000 9.4.12) and ending a
# plan at its first review conference (exceptional circumstances, 001 5.2 / 004).
CONDITIONAL_MANAGER = frozenset({"schedule_meeting", "record_review_conference"})


def conditional_manager(message: ClientMessage, payload: dict[str, Any], status: PlanStatus) -> bool:
    """Whether this payload is a manager's decision on this plan (status: the plan's `status`).
    Whether a review date is already set (so that moving it needs a manager) only the workflow
    knows: for that, a caller without a manager role sends no `by` and the workflow refuses."""
    if message.name == "record_review_conference":
        return payload.get("outcome") == "end" and status.reviews_held == 0
    return False
