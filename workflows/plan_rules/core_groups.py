"""Core groups: the meetings, their notes and written agreement circulated, each member's
signature, and the core group before the review conference (000 9.3; 004 'Core Groups').
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.obligations import Obligation
from workflows.plan_rules.base import PlanRules
from workflows.policy import Period


class RecordCoreGroup(m.Message):
    date: m.Day
    next_date: m.MaybeDay = None


RECORD_CORE_GROUP = update("record_core_group", RecordCoreGroup, "a core group meeting held, and the next one's date")


class RecordNotesCirculated(m.Message):
    date: m.Day


RECORD_NOTES_CIRCULATED = update(
    "record_notes_circulated", RecordNotesCirculated, "the core group notes and written agreement sent out"
)


class RecordSignature(m.Message):
    member_id: m.Ref
    date: m.Day


RECORD_SIGNATURE = update(
    "record_signature", RecordSignature, "one core group member's signed written agreement returned"
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (RECORD_CORE_GROUP, RECORD_NOTES_CIRCULATED, RECORD_SIGNATURE)


class CoreGroupRules(PlanRules):
    """record_core_group, record_notes_circulated and record_signature."""

    def _core_group_interval(self) -> Period:
        if self.patches.procedures_3 and self.state.core_group_interval_weeks:
            # 001 2.3: "within the timescales specified at the initial or review conference".
            return Period(weeks=self.state.core_group_interval_weeks)
        if self.state.start.core_group_interval_weeks:
            return Period(weeks=self.state.start.core_group_interval_weeks)
        rule = self.profile.core_group
        if self.state.reviews_held and rule.interval_after_first_review:
            return rule.interval_after_first_review
        return rule.interval

    def record_core_group(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordCoreGroup = self._parse(RecordCoreGroup, raw)
        today = local_date(now)
        self._check_active()
        self._check_past("date", msg.date, today, self.state.start.icpc_date)
        current = self._find_open("first-core-group", "core-group")
        if current is None:
            raise m.Refusal.one("(plan)", "no core group is outstanding")
        if (
            current.kind == "first-core-group"
            and self.profile.first_core_group.not_on_conference_day
            and msg.date == self.state.start.icpc_date
        ):
            raise m.Refusal.one(
                "date",
                f"the first core group is not held on the conference day ({self.profile.first_core_group.source})",
            )
        if self.state.last_core_group_on and msg.date < self.state.last_core_group_on:
            raise m.Refusal.one(
                "date", f"{msg.date} is before the last recorded core group ({self.state.last_core_group_on})"
            )
        limit = self._core_group_interval().after(msg.date, self.cal)
        if msg.next_date is not None:
            if msg.next_date <= msg.date:
                raise m.Refusal.one("next_date", f"{msg.next_date} is not after the meeting ({msg.date})")
            if msg.next_date > limit:
                raise m.Refusal.one(
                    "next_date", f"{msg.next_date} is past the limit {limit} ({self.profile.core_group.source})"
                )
        if not apply:
            return {}
        current.met_on = msg.date
        self.state.last_core_group_on = msg.date
        nxt = self._open("core-group", msg.next_date or limit, msg.date, self.profile.core_group.source, limit=limit)
        group = current.id
        if self.patches.procedures_3:
            nxt.group = group  # the meeting that set it: its notes are counted from it in Tees
        notes_rule = self.profile.notes_circulated
        notes_due = (
            notes_rule.within.after(msg.date, self.cal)
            if notes_rule.within
            else notes_rule.before_next_core_group.before(nxt.due, self.cal)  # type: ignore[union-attr]
        )
        notes_due = max(notes_due, msg.date)
        self._open("notes-circulated", notes_due, msg.date, notes_rule.source, group=group)
        sign_due = self.profile.signature.within.after(notes_due, self.cal)
        for member in self.state.start.core_group:
            self._open("signature", sign_due, msg.date, self.profile.signature.source, member_id=member.id, group=group)
        self._log(now, msg.date, "core-group", obligation_id=group, next_date=nxt.due.isoformat())
        self._meet_pre_review_core_group(msg.date)
        if self.patches.procedures_3:
            # 000 9.5.2: a core group meeting held since the plan was found not to work meets the
            # meeting / discussion to agree a reconsidered plan.
            for ob in self.open_obligations("core-group-discussion"):
                if msg.date >= ob.opened_on:
                    ob.met_on = msg.date
        return {"met": group, "next_due": nxt.due.isoformat(), "notes_due": notes_due.isoformat()}

    def _core_group_moved(self, core_group: Obligation) -> None:
        """What is counted from the next core group follows it, earlier or later (procedures-3):
        003 §2, minutes "circulated to all Core Group members 2 weeks prior to the next scheduled
        Core Group", and the signatures counted from the minutes."""
        before = self.profile.notes_circulated.before_next_core_group
        if not self.patches.procedures_3 or before is None:
            return
        for notes in self.open_obligations("notes-circulated"):
            # Only the minutes of the meeting that set this one (a run carried from before
            # procedures-3 has no such link: the meeting held the day it was opened).
            if notes.group != core_group.group and (core_group.group or notes.opened_on != core_group.opened_on):
                continue
            notes.reschedule(max(before.before(core_group.due, self.cal), notes.opened_on))
            sign_due = self.profile.signature.within.after(notes.due, self.cal)
            for sig in self.open_obligations("signature"):
                if sig.group == notes.group:
                    sig.reschedule(sign_due)

    def _set_core_group_interval(self, weeks: int, held: date) -> None:
        """001 2.3: a review conference sets the core groups' timescale: the next one is due
        within it of the last core group (or of the conference, if none has met)."""
        self.state.core_group_interval_weeks = weeks
        ob = self._find_open("core-group")
        if ob is None:
            return
        old_limit = ob.limit or ob.due
        limit = Period(weeks=weeks).after(self.state.last_core_group_on or held, self.cal)
        ob.limit = limit
        if ob.due == old_limit or ob.due > limit:
            ob.reschedule(limit)
            self._core_group_moved(ob)

    def _meet_pre_review_core_group(self, held: date) -> None:
        """004 'Core Groups': the core group before the review conference discusses the
        recommendation to it; a core group held within the profile's period before it meets it."""
        window = self.profile.core_group.before_review_conference
        if not self.patches.procedures or window is None:
            return
        for ob in self.open_obligations("pre-review-core-group"):
            review = next((o for o in self.state.obligations if o.id == ob.group), None)
            conference_day = review.due if review and review.open else ob.due
            if held >= window.before(conference_day, self.cal):
                ob.met_on = held

    def _open_pre_review_core_group(self, review: Obligation) -> None:
        if self.patches.procedures and self.profile.core_group.before_review_conference:
            due = self.cal.add_working_days(review.due, -1)
            self._open("pre-review-core-group", due, review.opened_on, self.profile.core_group.source, group=review.id)

    def record_notes_circulated(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordNotesCirculated = self._parse(RecordNotesCirculated, raw)
        today = local_date(now)
        self._check_active()
        ob = self._find_open("notes-circulated")
        if ob is None:
            raise m.Refusal.one("(plan)", "no core group notes are outstanding")
        self._check_past("date", msg.date, today, ob.opened_on, "the core group meeting")
        if self.patches.entitled_senders:
            # 000 9.3.26: signed once the notes have gone out, whichever is recorded first.
            early = sorted(
                f"{o.member_id} ({o.met_on})"
                for o in self.state.obligations
                if o.kind == "signature" and o.group == ob.group and o.met_on and o.met_on < msg.date
            )
            if early:
                raise m.Refusal.one(
                    "date",
                    f"{msg.date} is after signatures already recorded for these notes ({', '.join(early)}), and "
                    "a signature is not dated before the notes went out",
                )
        if not apply:
            return {}
        ob.met_on = msg.date
        sign_due = self.profile.signature.within.after(msg.date, self.cal)
        for sig in self.open_obligations("signature"):
            if sig.group == ob.group:
                sig.reschedule(sign_due)
        self._log(now, msg.date, "notes-circulated", obligation_id=ob.id)
        return {"met": ob.id, "signatures_due": sign_due.isoformat()}

    def record_signature(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordSignature = self._parse(RecordSignature, raw)
        today = local_date(now)
        self._check_active()
        members = [p.id for p in self.state.start.core_group]
        if msg.member_id not in members:
            raise m.Refusal.one("member_id", f"{msg.member_id!r} is not a member of this plan's core group")
        pending = [o for o in self.open_obligations("signature") if o.member_id == msg.member_id]
        if not pending:
            raise m.Refusal.one("member_id", f"no signed agreement is outstanding from {msg.member_id!r}")
        ob = min(pending, key=lambda o: o.opened_on)
        self._check_past("date", msg.date, today, ob.opened_on, "the core group meeting")
        if self.patches.honest_records:
            # 000 9.3.26: the agreement is signed once the notes and the plan have gone out.
            notes = next(
                (o for o in self.state.obligations if o.kind == "notes-circulated" and o.group == ob.group), None
            )
            if notes is not None and notes.met_on and msg.date < notes.met_on:
                raise m.Refusal.one("date", f"{msg.date} is before the notes were circulated ({notes.met_on})")
        if not apply:
            return {}
        ob.met_on = msg.date
        self._log(now, msg.date, "signature", obligation_id=ob.id, member_id=msg.member_id)
        return {"met": ob.id}
