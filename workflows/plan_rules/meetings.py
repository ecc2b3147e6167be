"""Meetings arranged or moved: core groups, review and transfer conferences (000 9.2.6, 9.4.12)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.obligations import Obligation
from workflows.plan_rules.reviews import ReviewRules


class ScheduleMeeting(m.Message):
    kind: Literal["core_group", "review_conference", "transfer_conference"]
    date: m.Day
    by: m.Ref | None = None
    # Parents (or carers) of the core group the chair has excluded from this review conference:
    # each is given the report before it (002 'Exclusion of Family Members from a Conference').
    excluded_parents: list[m.Ref] | None = Field(default=None, max_length=20)


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
            if self.patches.procedures_3 and msg.excluded_parents:
                raise m.Refusal.one("excluded_parents", "a parent is excluded from a review conference")
            return self._schedule_transfer_conference(msg, now, apply)
        kinds = ("first-core-group", "core-group") if msg.kind == "core_group" else ("review-conference",)
        ob = self._find_open(*kinds)
        if ob is None:
            raise m.Refusal.one("kind", f"no {msg.kind} is outstanding")
        limit = ob.limit or ob.due
        if msg.date > limit:
            # 000 9.4.12: brought forward where possible, never past the statutory limit.
            raise m.Refusal.one("date", f"{msg.date} is past the limit {limit} ({ob.source})")
        if self.patches.procedures_3:
            self._check_arranged_date(msg, ob)
        if msg.kind == "review_conference":
            arranged = (
                self.state.review_moved
                or (ob.id == "review-conference-1" and self.state.start.first_review_date is not None)
                or ob.due != limit
            )
            if arranged and msg.date != ob.due:
                if msg.by is None:
                    raise m.NotYours.one(
                        "by",
                        f"moving a set review conference needs the agreeing manager ({self.profile.review_changes.source})",
                    )
                self._check_manager("by", msg.by)
        elif msg.by is not None and self._person(msg.by) is None:
            raise m.Refusal.one("by", f"{msg.by!r} is not a member of this plan")
        if not apply:
            return {}
        previous = ob.due
        ob.reschedule(msg.date)
        if msg.kind == "review_conference":
            self.state.review_moved = True
            self._review_date_changed(ob)
        else:
            self._core_group_moved(ob)
        words = "core group" if msg.kind == "core_group" else "review conference"
        if not (self.patches.procedures_3 and msg.excluded_parents and msg.date == previous):
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
            excluded_parents=msg.excluded_parents or None,
        )
        if self.patches.procedures_3 and msg.excluded_parents:
            self._exclude_parents(ob, msg.excluded_parents, today, now)
        return {"obligation_id": ob.id, "due": msg.date.isoformat()}

    def _check_arranged_date(self, msg: ScheduleMeeting, ob: Obligation) -> None:
        """A rule on a meeting's date holds on every message that can set it (procedures-3): the
        start, the core group recorded, and the meeting arranged."""
        start = self.state.start
        if ob.kind == "first-core-group":
            rule = self.profile.first_core_group
            if rule.not_on_conference_day and msg.date == start.icpc_date:
                # 001 2.2: "This meeting should not be held immediately after the Child
                # Protection Conference".
                raise m.Refusal.one("date", f"the first core group is not held on the conference day ({rule.source})")
        if msg.excluded_parents:
            self._check_exclusions(msg)

    def _check_exclusions(self, msg: ScheduleMeeting) -> None:
        admin = self.profile.conference_admin
        if msg.kind != "review_conference":
            raise m.Refusal.one("excluded_parents", "a parent is excluded from a review conference, not a core group")
        if admin is None or admin.report_to_excluded_parents_before is None:
            raise m.Refusal.one("excluded_parents", "this profile has no rule for a parent excluded from a conference")
        family = {p.id for p in self.state.start.core_group if p.role in ("parent", "carer")}
        for i, parent in enumerate(msg.excluded_parents or []):
            if parent not in family:
                raise m.Refusal.one(
                    f"excluded_parents.{i}", f"{parent!r} is not a parent or carer in this plan's core group"
                )
        # 002: "The decision of the chair over matters of exclusion is final".
        chair = self.state.start.chair
        if msg.by is None:
            raise m.Refusal.one("by", f"excluding a parent is the chair's decision: give who decided ({admin.source})")
        if not (chair and msg.by == chair.id):
            self._check_manager("by", msg.by)

    def _exclude_parents(self, review: Obligation, parents: list[str], today: date, now: datetime) -> None:
        """002 'Exclusion of Family Members from a Conference': "Those excluded should be provided
        with a copy of the social worker's report to the conference (... five working days before a
        Review Conference)": one obligation each, moving with the conference."""
        admin = self.profile.conference_admin
        assert admin is not None and admin.report_to_excluded_parents_before is not None
        due = max(today, admin.report_to_excluded_parents_before.before(review.due, self.cal))
        for parent in parents:
            ident = f"excluded-parent-report-{review.id}-{parent}"
            if any(o.id == ident for o in self.state.obligations):
                continue
            self._open("excluded-parent-report", due, today, admin.source, member_id=parent, group=review.id)
        self._log(now, today, "parents-excluded", review=review.id, parents=parents)

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
