"""Meetings arranged or moved: core groups, review and transfer conferences (000 9.2.6, 9.4.12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.plan_rules.reviews import ReviewRules


class ScheduleMeeting(m.Message):
    kind: Literal["core_group", "review_conference", "transfer_conference"]
    date: m.Day
    by: m.Ref | None = None


SCHEDULE_MEETING = update("schedule_meeting", ScheduleMeeting, "a core group or review conference arranged or moved")


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (SCHEDULE_MEETING,)


class MeetingRules(ReviewRules):
    """schedule_meeting."""

    def schedule_meeting(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: ScheduleMeeting = self._parse(ScheduleMeeting, raw)
        today = local_date(now)
        self._check_active()
        if msg.date < today:
            raise m.Refusal.one("date", f"{msg.date} is in the past")
        if msg.kind == "transfer_conference":
            return self._schedule_transfer_conference(msg, now, apply)
        kinds = ("first-core-group", "core-group") if msg.kind == "core_group" else ("review-conference",)
        ob = self._find_open(*kinds)
        if ob is None:
            raise m.Refusal.one("kind", f"no {msg.kind} is outstanding")
        limit = ob.limit or ob.due
        if msg.date > limit:
            # 000 9.4.12: brought forward where possible, never past the statutory limit.
            raise m.Refusal.one("date", f"{msg.date} is past the limit {limit} ({ob.source})")
        if msg.kind == "review_conference":
            arranged = (
                self.state.review_moved
                or (ob.id == "review-conference-1" and self.state.start.first_review_date is not None)
                or ob.due != limit
            )
            if arranged and msg.date != ob.due:
                if msg.by is None:
                    raise m.NotEntitled.one(
                        "by",
                        f"moving a set review conference needs the agreeing manager ({self.profile.review_changes.source})",
                    )
                self._check_manager("by", msg.by)
        elif msg.by is not None and self._person(msg.by) is None:
            raise m.Refusal.one("by", f"{msg.by!r} is not a member of this plan")
        elif msg.by is not None and self.patches.entitled_senders:
            # A meeting is arranged by the plan's staff, never by the family.
            self._check_entitled("by", msg.by, SCHEDULE_MEETING.decided_by, today)
        if not apply:
            return {}
        previous = ob.due
        ob.reschedule(msg.date)
        if msg.kind == "review_conference":
            self.state.review_moved = True
            self._review_date_changed(ob)
        words = "core group" if msg.kind == "core_group" else "review conference"
        n = self._next_number("letter")
        # 000 9.2.6: a rescheduled meeting is confirmed in writing to all concerned.
        self._letters(
            now,
            f"letter-{n}",
            f"{words} arranged for {msg.date}",
            f"The {words} is arranged for {msg.date} (previously due {previous}).",
        )
        self._log(
            now,
            today,
            "meeting-scheduled",
            kind=msg.kind,
            date=msg.date.isoformat(),
            previous=previous.isoformat(),
            by=msg.by,
        )
        return {"obligation_id": ob.id, "due": msg.date.isoformat()}

    def _schedule_transfer_conference(self, msg: ScheduleMeeting, now: datetime, apply: bool) -> dict[str, Any]:
        ob = self._find_open("transfer-conference")
        if ob is None or not self.patches.procedures:
            raise m.Refusal.one("kind", "no transfer conference is outstanding")
        if not apply:
            return {}
        previous = ob.due
        ob.reschedule(msg.date)
        report = self._find_open("transfer-report")
        if report:
            report.reschedule(self._report_due(msg.date, report.opened_on))
        self._log(
            now,
            local_date(now),
            "meeting-scheduled",
            kind=msg.kind,
            date=msg.date.isoformat(),
            previous=previous.isoformat(),
            by=msg.by,
        )
        return {"obligation_id": ob.id, "due": msg.date.isoformat(), "report_due": self._due_of("transfer-report")}
