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
    # When the ending was recorded, and what it closed, so that an ending recorded in error can
    # be put right (`reopen_plan`, Patches.entitled_senders); None for an ending before that.
    ended_at: datetime | None = None
    closed_at_end: list[Obligation] = Field(default_factory=list)
    missing_at_end: datetime | None = None
    # Until when an ending recorded in error may be put right; None once it is final.
    reopen_by: datetime | None = None
    cover: Cover | None = None
    review_moved: bool = False
    counters: dict[str, int] = Field(default_factory=dict)
    obligations: list[Obligation] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    outbox: list[Notification] = Field(default_factory=list)
    runs: int = 1
    # Set by a conference (procedures-3): the core group interval (001 2.3) and the seen-alone
    # interval (000 9.4.6) in weeks; None keeps the start's or the profile's.
    core_group_interval_weeks: int | None = None
    seen_alone_interval_weeks: int | None = None


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
    # The rules of the `procedures-3` release: whose act meets each clock, what moves with what,
    # the first core group not arranged for the conference day, who is told when a plan cannot be
    # implemented or an early review is asked for, and what conferences set (core group and
    # seen-alone intervals, a transfer's agreement date, a parent excluded, attendance).
    procedures_3: bool = True
    # Who may send what, per plan (ENTITLED_SENDERS_PATCH): a report's `by` checked against the
    # plan's people and kept as unreadable when not entitled; nobody of the family in a member of
    # staff's place (lead social worker, escalated to, the `by` of a visit); an escalation to a
    # manager, never to oneself; e-mail addresses checked; a signature never before its notes;
    # the workflow open for REOPEN_WITHIN after an ending, so that one recorded in error can be
    # put right (`reopen_plan`).
    entitled_senders: bool = True
    # Dates in messages between 1900 and 2100 (workflows/models.py FIRST_YEAR..LAST_YEAR); plans
    # whose history predates it read any year, as they did (DATES_IN_RANGE_PATCH).
    dates_in_range: bool = True


# What a plan started now runs with: every release.
LATEST = Patches()
