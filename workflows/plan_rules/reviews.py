"""Review conferences: held (continue, end, transfer out, inquorate), the next one opened with
its administration, scaling, and the child-in-need step-down when a plan ends (000 9.4; 002
'Review Child Protection Conferences', 'Transfer Child Protection Conference'; 004).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.obligations import Obligation
from workflows.plan_rules.core_groups import CoreGroupRules
from workflows.policy import Period


class RecordReviewConference(m.Message):
    date: m.Day
    outcome: Literal["continue", "end", "transfer-out", "inquorate"]
    exceptional_reason: Literal["perpetrator-custody", "perpetrator-deceased"] | None = None
    next_review_date: m.MaybeDay = None
    scores: list[Annotated[m.Count, Field(ge=0, le=10)]] | None = Field(default=None, max_length=60)
    step_down_not_needed: Literal["looked-after", "moved-authority", "assessed-not-necessary"] | None = None
    by: m.Ref | None = None  # the manager (or chair) who agreed an end at the first review
    rationale_ref: m.Ref | None = None  # why a child-in-need plan is not necessary (004), a reference
    receiving_authority: m.Ref | None = None  # transfer-out: the authority taking the plan over
    transfer_conference_date: m.MaybeDay = None  # transfer-out: its transfer conference, when known
    # What the conference set for the plan from now on (procedures-3): the core groups' interval
    # (001 2.3) and the child seen alone (000 9.4.6), in weeks.
    core_group_interval_weeks: m.Count | None = Field(default=None, ge=1, le=26)
    seen_alone_interval_weeks: m.Count | None = Field(default=None, ge=1, le=26)
    # Who was there (004 'Role of the Chair'): the ids of those who attended, sent apologies, and
    # whose report the conference received. Recorded, the chair writes to any professional who
    # neither attended nor sent a report, where the profile has it (`conference_attendance`).
    attended: list[m.Ref] | None = Field(default=None, max_length=60)
    apologies: list[m.Ref] | None = Field(default=None, max_length=60)
    reports_received: list[m.Ref] | None = Field(default=None, max_length=60)


RECORD_REVIEW_CONFERENCE = update(
    "record_review_conference", RecordReviewConference, "a review conference held, and its outcome"
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (RECORD_REVIEW_CONFERENCE,)


class ReviewRules(CoreGroupRules):
    """record_review_conference and what follows from its outcome."""

    def record_review_conference(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordReviewConference = self._parse(RecordReviewConference, raw)
        today = local_date(now)
        self._check_active()
        ob = self._find_open("review-conference")
        if ob is None:
            raise m.Refusal.one("(plan)", "no review conference is outstanding")
        self._check_past("date", msg.date, today, self.state.start.icpc_date)
        later = self.profile.later_review.within.after(msg.date, self.cal)
        inquorate_limit = self.profile.inquorate.new_date_within.after(msg.date, self.cal)
        self._check_next_review_date(msg, later, inquorate_limit)
        if self.patches.procedures:
            self._check_review_outcome(msg)
        else:
            self._check_review_outcome_before_procedures(msg)
        if self.patches.procedures_3:
            self._check_what_the_conference_set(msg)
        if not apply:
            return {}
        if self.patches.procedures_3:
            self._attendance(msg, ob, now)
        if msg.outcome == "inquorate":
            return self._inquorate(ob, msg, now, inquorate_limit)
        ob.met_on = msg.date
        self.state.reviews_held += 1
        self._review_held(ob, msg.date, now)
        self._log(
            now,
            msg.date,
            "review-conference",
            outcome=msg.outcome,
            obligation_id=ob.id,
            scores=msg.scores,
            exceptional_reason=msg.exceptional_reason,
            by=msg.by,
            receiving_authority=msg.receiving_authority,
            transfer_conference_date=msg.transfer_conference_date.isoformat() if msg.transfer_conference_date else None,
            step_down_not_needed=msg.step_down_not_needed,
            rationale_ref=msg.rationale_ref,
        )
        self._conference_admin_after(msg.date)
        self._scaling(now, msg.scores)
        if self.patches.procedures_3:
            self._conference_sets(msg, now)
        if msg.outcome == "continue":
            nxt = self._open_next_review(msg, later)
            return {"outcome": "continue", "next_due": nxt.due.isoformat()}
        if msg.outcome == "transfer-out" and self.patches.procedures:
            return self._transfer_out(msg, later, now)
        return self._ended_at_review(msg, now)

    def _check_next_review_date(self, msg: RecordReviewConference, later: date, inquorate_limit: date) -> None:
        if msg.outcome == "continue" and msg.next_review_date is not None:
            if msg.next_review_date <= msg.date or msg.next_review_date > later:
                raise m.Refusal.one(
                    "next_review_date",
                    f"{msg.next_review_date} must be after {msg.date} and no later than {later} ({self.profile.later_review.source})",
                )
        if msg.outcome == "inquorate" and msg.next_review_date is not None:
            if msg.next_review_date <= msg.date or msg.next_review_date > inquorate_limit:
                raise m.Refusal.one(
                    "next_review_date",
                    f"{msg.next_review_date} must be after {msg.date} and no later than {inquorate_limit} ({self.profile.inquorate.source})",
                )

    def _check_review_outcome_before_procedures(self, msg: RecordReviewConference) -> None:
        """Ending at the first review as plans recorded before the `procedures-2` release
        checked it: exceptional circumstances only, agreed by a manager where that rule ran."""
        if msg.outcome == "end" and self.state.reviews_held == 0 and msg.exceptional_reason is None:
            reasons = ", ".join(self.profile.ending.first_review_exceptional_reasons)
            raise m.Refusal.one(
                "exceptional_reason",
                f"a plan is not ended at the first review conference except in exceptional circumstances ({reasons}); {self.profile.ending.source}",
            )
        if (
            msg.outcome == "end"
            and msg.exceptional_reason
            and msg.exceptional_reason not in self.profile.ending.first_review_exceptional_reasons
        ):
            raise m.Refusal.one(
                "exceptional_reason",
                f"{msg.exceptional_reason!r} is not an exceptional circumstance in this profile",
            )
        if msg.outcome == "end" and self.state.reviews_held == 0 and self.patches.end_needs_manager:
            # Ending at the first review is a manager's decision, recorded with who made it.
            if msg.by is None:
                raise m.NotYours.one(
                    "by", "ending the plan at the first review conference needs the manager who agreed it"
                )
            self._check_manager("by", msg.by)

    def _check_what_the_conference_set(self, msg: RecordReviewConference) -> None:
        continues = msg.outcome in ("continue", "transfer-out")
        for name in ("core_group_interval_weeks", "seen_alone_interval_weeks"):
            if getattr(msg, name) is not None and not continues:
                raise m.Refusal.one(name, "is set by a review conference that continues the plan")
        if msg.seen_alone_interval_weeks is not None and self.profile.seen_alone is None:
            raise m.Refusal.one("seen_alone_interval_weeks", "this profile has no clock for the child seen alone")
        for name in ("attended", "apologies", "reports_received"):
            for i, person in enumerate(getattr(msg, name) or []):
                if self._person(person) is None:
                    raise m.Refusal.one(f"{name}.{i}", f"{person!r} is not one of this plan's people")

    def _conference_sets(self, msg: RecordReviewConference, now: datetime) -> None:
        """What the review conference set for the plan from now on (001 2.3; 000 9.4.6)."""
        if msg.core_group_interval_weeks is not None:
            self._set_core_group_interval(msg.core_group_interval_weeks, msg.date)
        if msg.seen_alone_interval_weeks is not None and self.profile.seen_alone:
            self.state.seen_alone_interval_weeks = msg.seen_alone_interval_weeks
            for ob in self.open_obligations("seen-alone"):
                ob.reschedule(Period(weeks=msg.seen_alone_interval_weeks).after(ob.opened_on, self.cal))
        if msg.core_group_interval_weeks is not None or msg.seen_alone_interval_weeks is not None:
            self._log(
                now,
                msg.date,
                "conference-set-intervals",
                core_group_interval_weeks=msg.core_group_interval_weeks,
                seen_alone_interval_weeks=msg.seen_alone_interval_weeks,
            )

    def _attendance(self, msg: RecordReviewConference, review: Obligation, now: datetime) -> None:
        """004 'Role of the Chair': "To write to any professional who did not attend or send a
        report for a conference and request an explanation as to why this has happened"."""
        if msg.attended is None and msg.apologies is None and msg.reports_received is None:
            return
        attended, reports = set(msg.attended or []), set(msg.reports_received or [])
        self._log(
            now,
            msg.date,
            "conference-attendance",
            review=review.id,
            attended=msg.attended,
            apologies=msg.apologies,
            reports_received=msg.reports_received,
        )
        rule = self.profile.conference_attendance
        if rule is None or msg.attended is None:
            return  # who attended not said: nobody is written to
        invited = {p.id: p for p in [self.lead_social_worker(msg.date), *self.state.start.core_group]}
        absent = sorted(i for i, p in invited.items() if p.role not in m.FAMILY_ROLES and i not in attended | reports)
        if not absent:
            return
        ob = self._open("attendance-letter", rule.chair_writes_within.after(msg.date, self.cal), msg.date, rule.source)
        ob.group = f"to {', '.join(absent)}"
        chair = self.state.start.chair
        self._alert(
            now,
            "conference-non-attendance",
            [chair or self._team_manager()],
            f"professionals who neither attended nor sent a report to the conference on {msg.date}",
            f"Please write to {', '.join(absent)}, who neither attended the conference on {msg.date} nor sent a "
            f"report, asking why: {ob.describe()}."
            + ("" if chair else " No chair is recorded on this plan: please pass this to the chair.")
            + f" ({rule.source})",
            obligation_id=ob.id,
        )

    def _inquorate(
        self, ob: Obligation, msg: RecordReviewConference, now: datetime, inquorate_limit: date
    ) -> dict[str, Any]:
        """002: an interim plan stands; another date, usually within a month, set immediately."""
        new = msg.next_review_date or inquorate_limit
        ob.reschedule(new)
        ob.limit = inquorate_limit
        self._review_date_changed(ob)
        self._alert(
            now,
            "inquorate-conference",
            [self._team_manager()],
            f"review conference on {msg.date} was inquorate",
            f"The interim plan stands. A new review conference is due by {new}. ({self.profile.inquorate.source})",
        )
        self._log(now, msg.date, "review-conference", outcome="inquorate", next_review_date=new.isoformat())
        return {"outcome": "inquorate", "next_due": new.isoformat()}

    def _ended_at_review(self, msg: RecordReviewConference, now: datetime) -> dict[str, Any]:
        """The plan ends (or, before `procedures-2`, transfers out) at the review, keeping its
        step-down: the child-in-need meeting, or the supervision discussion without one."""
        step_down = None
        if msg.outcome == "end":
            step_down = self._step_down(msg, now)
        self._end(
            now,
            msg.date,
            "transferred out" if msg.outcome == "transfer-out" else "ended at review conference",
            keep=step_down,
        )
        if step_down and step_down.kind == "step-down-supervision":
            return {"outcome": msg.outcome, "supervision_due": step_down.due.isoformat()}
        return {"outcome": msg.outcome, "cin_meeting_due": step_down.due.isoformat() if step_down else None}

    def _open_next_review(self, msg: RecordReviewConference, later: date) -> Obligation:
        nxt = self._open(
            "review-conference",
            msg.next_review_date or later,
            msg.date,
            self.profile.later_review.source,
            limit=later,
        )
        self.state.review_moved = msg.next_review_date is not None
        self._conference_admin_before(nxt)
        bedroom = self.profile.bedroom_seen
        if bedroom and bedroom.once_between_conferences:
            # 000 9.4.6: seen once between each conference; one still outstanding stays open.
            self._open("bedroom-seen", nxt.due, msg.date, bedroom.source, group=nxt.id)
        self._open_pre_review_core_group(nxt)
        return nxt

    def _check_review_outcome(self, msg: RecordReviewConference) -> None:
        """Ending at the first review, transfer out and ending without a child-in-need plan, as
        the profile has them; each refusal quotes this profile's own rule."""
        ending = self.profile.ending
        first = self.state.reviews_held == 0
        if msg.outcome == "end" and first and ending.at_first_review == "exceptional-only":
            reasons = ", ".join(ending.first_review_exceptional_reasons)
            if msg.exceptional_reason is None:
                raise m.Refusal.one(
                    "exceptional_reason",
                    f"a plan is not ended at the first review conference except in exceptional circumstances ({reasons}); {ending.source}",
                )
            if msg.exceptional_reason not in ending.first_review_exceptional_reasons:
                raise m.Refusal.one(
                    "exceptional_reason",
                    f"{msg.exceptional_reason!r} is not an exceptional circumstance in this profile",
                )
        if msg.outcome == "end" and first:
            # Ending at the first review is agreed by a manager (or, where it is an ordinary
            # decision, the chair the social work team spoke with), recorded with who agreed it.
            if msg.by is None:
                who = (
                    "the manager (or the chair) who agreed it"
                    if ending.at_first_review == "ordinary"
                    else "the manager who agreed it"
                )
                raise m.Refusal.one(
                    "by", f"ending the plan at the first review conference needs {who} ({ending.source})"
                )
            chair = self.state.start.chair
            if not (ending.at_first_review == "ordinary" and chair and msg.by == chair.id):
                self._check_manager("by", msg.by)
        if msg.outcome == "transfer-out":
            if msg.receiving_authority is None:
                raise m.Refusal.one(
                    "receiving_authority",
                    f"a transfer out names the receiving authority (a reference) ({self.profile.transfer_out.source})",
                )
            if msg.transfer_conference_date is not None and msg.transfer_conference_date < msg.date:
                raise m.Refusal.one("transfer_conference_date", f"is before the review conference ({msg.date})")
        if msg.step_down_not_needed == "assessed-not-necessary" and msg.outcome == "end":
            rule = self.profile.step_down
            if rule is None or rule.not_necessary_supervision_within is None:
                raise m.Refusal.one("step_down_not_needed", "this profile has no child-in-need step-down to assess")
            if msg.rationale_ref is None:
                raise m.Refusal.one(
                    "rationale_ref",
                    f"a child-in-need plan assessed as not necessary needs its rationale ({rule.source})",
                )

    def _transfer_out(self, msg: RecordReviewConference, later: date, now: datetime) -> dict[str, Any]:
        """002 'Transfer Child Protection Conference': the plan stays with this authority, its
        clocks running, until the receiving authority's transfer conference is held."""
        rule = self.profile.transfer_out
        self._open_next_review(msg, later)
        held = msg.transfer_conference_date or rule.conference_within.after(msg.date, self.cal)
        conference = self._open("transfer-conference", held, msg.date, rule.source)
        conference.group = f"receiving authority {msg.receiving_authority}"
        report = self._open("transfer-report", self._report_due(held, msg.date), msg.date, rule.source)
        self._alert(
            now,
            "transfer-out",
            [self.lead_social_worker(msg.date), self._team_manager()],
            f"plan to transfer to {msg.receiving_authority}",
            f"The review conference on {msg.date} agreed a transfer to {msg.receiving_authority}. The plan stays with "
            f"this authority until its transfer conference ({conference.describe()}); your report: {report.describe()}. "
            f"({rule.source})",
        )
        return {
            "outcome": "transfer-out",
            "transfer_conference_due": held.isoformat(),
            "report_due": report.due.isoformat(),
        }

    def _report_due(self, conference: date, opened: date) -> date:
        return max(opened, self.profile.transfer_out.report_before.before(conference, self.cal))

    def _conference_admin_after(self, held: date) -> None:
        admin = self.profile.conference_admin
        if admin:
            self._open(
                "conference-decisions", admin.decisions_circulated_within.after(held, self.cal), held, admin.source
            )
            self._open("conference-record", admin.record_circulated_within.after(held, self.cal), held, admin.source)

    def _conference_admin_before(self, review: Obligation) -> None:
        admin = self.profile.conference_admin
        if admin:
            self._open(
                "conference-report-parents",
                admin.report_to_parents_before.before(review.due, self.cal),
                review.opened_on,
                admin.source,
                group=review.id,
            )
            self._open(
                "conference-report-chair",
                admin.report_to_chair_before.before(review.due, self.cal),
                review.opened_on,
                admin.source,
                group=review.id,
            )

    def _scaling(self, now: datetime, scores: list[int] | None) -> None:
        rule = self.profile.scaling
        if not rule or not scores:
            return
        zeros = sum(1 for s in scores if s == 0)
        above_five = sum(1 for s in scores if s > 5)
        if zeros * 2 > len(scores):
            self._alert(
                now,
                "scaling-oversight",
                [self._team_manager(), self._second_level()],
                "most conference attendees scored 0",
                f"Management oversight of decision making and next steps is needed. ({rule.source})",
            )
        elif above_five * 2 > len(scores):
            self._log(
                now,
                local_date(now),
                "scaling-consider-cin",
                note=f"majority scored above 5: consider whether a child-in-need plan would suffice ({rule.source})",
            )

    def _step_down(self, msg: RecordReviewConference, now: datetime) -> Obligation | None:
        rule = self.profile.step_down
        if not rule:
            return None
        if self.patches.procedures and msg.step_down_not_needed == "assessed-not-necessary":
            return self._without_child_in_need_plan(msg, now)
        if msg.step_down_not_needed and msg.step_down_not_needed in rule.not_needed_when:
            return None
        ob = self._open("cin-meeting", rule.meeting_within.after(msg.date, self.cal), msg.date, rule.source)
        ob.group = f"child-in-need plan for at least {rule.plan_at_least.describe()} (to {rule.plan_at_least.after(msg.date, self.cal)})"
        return ob

    def _without_child_in_need_plan(self, msg: RecordReviewConference, now: datetime) -> Obligation:
        """004 'Core Groups': a child-in-need plan assessed as not necessary: the rationale recorded,
        and a supervision discussion between the team manager and the head of service."""
        rule = self.profile.step_down
        assert rule is not None and rule.not_necessary_supervision_within is not None
        ob = self._open(
            "step-down-supervision",
            rule.not_necessary_supervision_within.after(msg.date, self.cal),
            msg.date,
            rule.source,
        )
        self._log(now, msg.date, "child-in-need-plan-not-necessary", rationale_ref=msg.rationale_ref)
        self._alert(
            now,
            "child-in-need-plan-not-necessary",
            [self._second_level(), self._team_manager()],
            "plan ended without a child-in-need plan",
            f"The review conference on {msg.date} ended the plan with a child-in-need plan assessed as not necessary "
            f"(rationale {msg.rationale_ref}). A supervision discussion between the team manager and the head of "
            f"service is due: {ob.describe()}. ({rule.source})",
            obligation_id=ob.id,
        )
        return ob
