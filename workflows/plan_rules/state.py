"""A plan's state (carried whole from run to run by continue-as-new: its fields are part of
every running plan's history) and the rule releases it runs with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from workflows import models as m
from workflows.case import Escalation, HistoryEntry, Notification
from workflows.obligations import Obligation


class Cover(BaseModel):
    person: m.Person
    until: date | None = None


class PlanState(BaseModel):
    start: m.PlanStart
    state: Literal["active", "ended"] = "active"
    ended_on: date | None = None
    end_reason: str | None = None
    visit_interval_working_days: int
    reviews_held: int = 0
    last_visit_on: date | None = None
    last_core_group_on: date | None = None
    consecutive_no_access: int = 0
    missing_since: datetime | None = None
    missing_escalated: bool = False
    cover: Cover | None = None
    review_moved: bool = False
    counters: dict[str, int] = Field(default_factory=dict)
    obligations: list[Obligation] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    outbox: list[Notification] = Field(default_factory=list)
    runs: int = 1


@dataclass(frozen=True)
class Patches:
    """Which releases of the rules a plan runs with. All true for a plan started now; the
    workflow sets each from `workflow.patched(...)` (workflows/plan.py), so a history recorded
    before a release replays as it ran (README, "Changing workflow code")."""

    # Wake at midnight after a due date so the status shows "overdue" before the 09:00
    # escalation. Plans whose history predates it must replay without those timers.
    overdue_wake: bool = True
    # Ending at the first review needs a manager's `by` (a rule added after plans were running,
    # so their accepted updates still replay).
    end_needs_manager: bool = True
    # Messages' dates, flags and counts must have their JSON types (workflows/models.py); plans
    # whose history predates that read them leniently, as they did.
    strict_input: bool = True
    # Honest records: reports checked like updates (dates neither in the future nor before the
    # plan), a signature not before its notes went out, staff reachable, police-action notices to
    # professionals only (HONEST_RECORDS_PATCH).
    honest_records: bool = True
    # The rules of the `procedures-2` release: conference administration outlives the plan, who
    # makes a statutory visit, ending at the first review per profile, transfer out, ending
    # without a child-in-need plan, the core group before the review, a plan that cannot be
    # implemented, hold-by dates.
    procedures: bool = True
    # At most UNREADABLE_KEPT_A_DAY unreadable messages a day kept one by one, the rest counted
    # (BOUNDED_UNREADABLE_PATCH).
    bounded_unreadable: bool = True
    # Dates in messages between 1900 and 2100 (workflows/models.py FIRST_YEAR..LAST_YEAR); plans
    # whose history predates it read any year, as they did (DATES_IN_RANGE_PATCH).
    dates_in_range: bool = True


# What a plan started now runs with: every release.
LATEST = Patches()
