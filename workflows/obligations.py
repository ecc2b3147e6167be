"""Obligations: one due date each, with the reminder and escalations that follow from it.

procedures.md, "Events that must reach people": a reminder to the responsible person before
the due date (profile `reminder`), the team manager on the first working day after it with
nothing recorded, the service manager a further period later (profile `escalation`). All at the
profile's `notify_at` local time on a working day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel

from workflows.calendar import WorkingCalendar, local_instant
from workflows.policy import Profile

Status = Literal["pending", "met", "met-late", "overdue", "escalated"]
Action = Literal["reminder", "overdue", "escalation-1", "escalation-2"]

# Obligations met through `record_completion` (one-off tasks); the recurring clocks each have
# their own message.
ONE_OFF_KINDS = {
    "core-assessment",
    "cin-meeting",
    "police-action",
    "conference-report-parents",
    "conference-report-chair",
    "conference-decisions",
    "conference-record",
    "early-review-decision",
    "child-found",
    "transfer-conference",
    "transfer-report",
    "step-down-supervision",
    "excluded-parent-report",
    "attendance-letter",
    "core-group-discussion",
}

DESCRIPTIONS = {
    "first-core-group": "first core group",
    "core-group": "core group",
    "visit": "statutory visit (child seen)",
    "seen-alone": "child seen alone",
    "bedroom-seen": "child's bedroom seen",
    "notes-circulated": "core group notes and written agreement circulated",
    "signature": "signed written agreement returned",
    "review-conference": "review conference",
    "core-assessment": "core assessment completed",
    "cin-meeting": "child-in-need meeting",
    "police-action": "action agreed with the police after no access",
    "conference-report-parents": "conference report shared with parents",
    "conference-report-chair": "conference report to the chair",
    "conference-decisions": "conference decisions circulated",
    "conference-record": "conference record circulated",
    "early-review-decision": "manager's decision on an early review",
    "child-found": "missing child found",
    "transfer-conference": "receiving authority's transfer conference held",
    "transfer-report": "lead social worker's report to the transfer conference",
    "step-down-supervision": "supervision discussion (team manager and head of service) on ending without a child-in-need plan",
    "pre-review-core-group": "core group before the review conference",
    "excluded-parent-report": "social worker's report given to a parent excluded from the conference",
    "attendance-letter": "chair's letter to professionals who neither attended nor sent a report",
    "core-group-discussion": "core group meeting or discussion to agree a reconsidered plan",
}


def hold_by(due: date, cal: WorkingCalendar) -> date:
    """What people are told to hold a limit by: the limit itself when it is a working day,
    otherwise the last working day before it (a limit in months or weeks can fall on a weekend,
    a bank holiday or a closure day). The statutory limit does not move."""
    return due if cal.is_working_day(due) else cal.add_working_days(due, -1)


class Obligation(BaseModel):
    id: str
    kind: str
    due: date
    opened_on: date
    limit: date | None = None  # the statutory limit where `due` is an earlier arranged date
    met_on: date | None = None
    member_id: str | None = None
    group: str | None = None  # the meeting that opened it (notes and signatures)
    source: str = ""  # the profile rule's seed reference
    reminded: bool = False
    overdue_noted: bool = False  # the plan woke at midnight after the due date: status shows it
    escalation_level: int = 0
    escalated_on: date | None = None

    @property
    def open(self) -> bool:
        return self.met_on is None

    def status(self, today: date) -> Status:
        if self.met_on is not None:
            return "met" if self.met_on <= self.due else "met-late"
        if self.escalation_level:
            return "escalated"
        return "overdue" if today > self.due else "pending"

    def describe(self, cal: WorkingCalendar | None = None) -> str:
        """In words; given the calendar, a limit on a non-working day says the day to hold it by."""
        words = DESCRIPTIONS.get(self.kind, self.kind.replace("-", " "))
        if self.member_id:
            words += f" by {self.member_id}"
        held = hold_by(self.due, cal) if cal else self.due
        if held != self.due:
            return f"{words} due {self.due.isoformat()} (hold by {held.isoformat()})"
        return f"{words} due {self.due.isoformat()}"

    def reschedule(self, due: date) -> None:
        """A new due date: its reminder and escalations start again from it."""
        self.due = due
        self.reminded = False
        self.overdue_noted = False
        self.escalation_level = 0
        self.escalated_on = None

    def next_action(
        self, profile: Profile, cal: WorkingCalendar, overdue_wake: bool = True, hold: bool = False
    ) -> tuple[datetime, Action] | None:
        """`hold`: the reminder counts back from the hold-by day, not the statutory limit."""
        if not self.open:
            return None
        at = profile.notify_at
        if not self.reminded:
            day = profile.reminder.before.before(hold_by(self.due, cal) if hold else self.due, cal)
            if not cal.is_working_day(day):
                day = cal.add_working_days(day, -1)
            day = max(day, self.opened_on)
            return local_instant(day, at), "reminder"
        if overdue_wake and self.escalation_level == 0 and not self.overdue_noted:
            # Wake as the due date passes, so the status and the read model show "overdue"
            # before the team manager is told at the next working day's notify time.
            return local_instant(self.due + timedelta(days=1), time(0)), "overdue"
        if self.escalation_level == 0:
            return local_instant(cal.add_working_days(self.due, 1), at), "escalation-1"
        if self.escalation_level == 1 and self.escalated_on is not None:
            day = profile.escalation.second_level_after.after(self.escalated_on, cal)
            return local_instant(cal.on_or_after(day), at), "escalation-2"
        return None
