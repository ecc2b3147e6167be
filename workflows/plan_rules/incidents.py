"""Incidents and decisions on them: an early review asked for and a manager's answer, a plan
that cannot be implemented, a manager's escalation, a missing child (with its own clock in
hours) and a child's death (000 9.4.13-14; 001 6.4.3; 002).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import signal, update
from workflows.obligations import Obligation
from workflows.plan_rules.base import PlanRules


class ReportIncident(m.Message):
    kind: Literal[
        "new-incident",
        "change-of-circumstances",
        "implementation-difficulty",
        "birth-in-household",
        "risk-person-joins",
        "returning-home",
        "plan-not-needed",
    ]
    date: m.Day
    summary_ref: m.Ref | None = None
    by: m.Ref | None = None  # who reports it (the signed-in person on the HTTP API)


REPORT_INCIDENT = signal(
    "report_incident", ReportIncident, "a new incident or change: asks a manager about an early review"
)


class AuthoriseEarlyReview(m.Message):
    by: m.Ref
    review_date: m.Day


AUTHORISE_EARLY_REVIEW = update(
    "authorise_early_review",
    AuthoriseEarlyReview,
    "a manager brings the review conference forward (000 9.4.14)",
    decided_by="manager",
)


class DeclineEarlyReview(m.Message):
    by: m.Ref
    reason_ref: m.Ref | None = None


DECLINE_EARLY_REVIEW = update(
    "decline_early_review", DeclineEarlyReview, "a manager decides against an early review", decided_by="manager"
)


class Escalate(m.Message):
    by: m.Ref
    to: m.Ref
    reason_ref: m.Ref | None = None


ESCALATE = signal("escalate", Escalate, "a manager escalates the plan to someone", decided_by="manager")


class ReportMissing(m.Message):
    date: m.Day
    by: m.Ref | None = None  # who reports it (the signed-in person on the HTTP API)


REPORT_MISSING = signal("report_missing", ReportMissing, "the child is missing")


class ReportFound(m.Message):
    date: m.Day
    by: m.Ref | None = None  # who reports it (the signed-in person on the HTTP API)


REPORT_FOUND = signal("report_found", ReportFound, "the missing child is found")


class ReportDeath(m.Message):
    date: m.Day
    by: m.Ref | None = None  # who reports it (the signed-in person on the HTTP API)


REPORT_DEATH = signal("report_death", ReportDeath, "the child has died: the plan ends")


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (
    AUTHORISE_EARLY_REVIEW,
    DECLINE_EARLY_REVIEW,
    REPORT_INCIDENT,
    ESCALATE,
    REPORT_MISSING,
    REPORT_FOUND,
    REPORT_DEATH,
)


def _reported_by(by: str | None) -> str:
    return f" (reported by {by})" if by else ""


class IncidentRules(PlanRules):
    """The plan's signals, the early review decisions and the missing child's clock."""

    def report_incident(self, raw: Any, now: datetime) -> None:
        """A signal: recorded even when it cannot be checked (it must never be lost)."""
        today = local_date(now)
        try:
            msg: ReportIncident = self._parse_report(REPORT_INCIDENT, raw, now)
        except m.Refusal as err:
            self._unreadable(now, REPORT_INCIDENT.name, raw, err)
            return
        if self.state.state != "active":
            self._log(now, msg.date, "incident-after-end", kind=msg.kind, summary_ref=msg.summary_ref)
            return
        if self.patches.procedures and msg.kind == "implementation-difficulty":
            self._cannot_be_implemented(msg, now)
            return
        ob = self._open(
            "early-review-decision",
            self.cal.add_working_days(max(today, msg.date), 1),
            today,
            self.profile.review_changes.source
            if self.patches.procedures
            else "000 9.4.13-14: an early review must be authorised by the LA manager",
        )
        self._log(now, msg.date, "incident", kind=msg.kind, summary_ref=msg.summary_ref, obligation_id=ob.id, by=msg.by)
        # 000 9.4.13-14; 002; 001 6.4.3; 003 §3: consider bringing the review forward.
        to, consult = [self._team_manager()], ""
        chair = self.state.start.chair
        if self.patches.procedures_3 and self.profile.review_changes.chair_consulted:
            # 003 §3: "following consultation with the Social Work Team Manager and Chair of
            # Conference" (early discontinuation included): the chair is asked too.
            if chair:
                to.append(chair)
                consult = f" The chair of conference ({chair.id}) is consulted too."
            else:
                consult = " No chair is recorded on this plan: please consult the chair of conference."
            consult += f" ({self.profile.review_changes.source})"
        self._alert(
            now,
            "early-review-requested",
            to,
            f"early review asked for after {msg.kind} on {msg.date}",
            f"A {msg.kind} was reported on {msg.date}. Please authorise or decline an early review conference ({ob.describe()}).{consult}",
            obligation_id=ob.id,
        )

    CONVENED = "convened: the plan cannot be implemented"

    def _cannot_be_implemented(self, msg: ReportIncident, now: datetime) -> None:
        """001 6.4.3: a plan that cannot be implemented goes to the review conference chair as a
        matter of urgency and a review conference is convened: a manager sets its date, and may
        not decline it."""
        rule = self.profile.implementation_difficulty
        today = local_date(now)
        ob = self._open(
            "early-review-decision",
            rule.convene_decision_within.after(max(today, msg.date), self.cal),
            today,
            rule.source,
            group=self.CONVENED,
        )
        self._log(now, msg.date, "incident", kind=msg.kind, summary_ref=msg.summary_ref, obligation_id=ob.id)
        chair = self.state.start.chair
        to = [chair or self._second_level(), self._team_manager()]
        discussion = ""
        if self.patches.procedures_3:
            # 000 9.5.2: "the lead social worker must be informed immediately and a core group
            # meeting / discussion co-ordinated to agree a reconsidered child protection plan".
            if rule.lead_social_worker_told:
                to.append(self.lead_social_worker(today))
            if rule.core_group_discussion_within:
                talk = self._open(
                    "core-group-discussion",
                    rule.core_group_discussion_within.after(max(today, msg.date), self.cal),
                    today,
                    rule.source,
                )
                discussion = f" A core group meeting or discussion is to agree a reconsidered plan: {talk.describe()}."
        self._alert(
            now,
            "plan-cannot-be-implemented",
            to,
            "urgent: the child protection plan cannot be implemented",
            f"On {msg.date} it was reported that the plan cannot be implemented. A review conference is to be "
            f"convened: {ob.describe()} (set its date with authorise_early_review)."
            + ("" if chair else " No chair is recorded on this plan: please pass this to the chair.")
            + discussion
            + f" ({rule.source})",
            obligation_id=ob.id,
        )

    def _decide_early_review(self, by: str) -> Obligation:
        self._check_active()
        self._check_manager("by", by)
        ob = self._find_open("early-review-decision")
        if ob is None:
            raise m.Refusal.one("(plan)", "no early review has been asked for")
        return ob

    def authorise_early_review(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: AuthoriseEarlyReview = self._parse(AuthoriseEarlyReview, raw)
        today = local_date(now)
        decision = self._decide_early_review(msg.by)
        review = self._find_open("review-conference")
        if review is None:
            raise m.Refusal.one("(plan)", "no review conference is outstanding")
        if msg.review_date < today:
            raise m.Refusal.one("review_date", f"{msg.review_date} is in the past")
        limit = review.limit or review.due
        if msg.review_date > limit:
            raise m.Refusal.one(
                "review_date", f"{msg.review_date} is past the statutory limit {limit} ({review.source})"
            )
        if msg.review_date > review.due:
            raise m.Refusal.one(
                "review_date", f"{msg.review_date} does not bring the review forward (it is due {review.due})"
            )
        if not apply:
            return {}
        for ob in self.open_obligations("early-review-decision"):
            ob.met_on = today
        previous = review.due
        review.reschedule(msg.review_date)
        self.state.review_moved = True
        self._review_date_changed(review)
        n = self._next_number("letter")
        self._letters(
            now,
            f"letter-{n}",
            f"review conference brought forward to {msg.review_date}",
            f"An early review conference has been authorised by {msg.by} for {msg.review_date} (previously due {previous}). ({self.profile.review_changes.source if self.patches.procedures else '000 9.4.14'})",
        )
        self._log(
            now,
            today,
            "early-review-authorised",
            by=msg.by,
            review_date=msg.review_date.isoformat(),
            obligation_id=decision.id,
        )
        return {"review_due": msg.review_date.isoformat()}

    def decline_early_review(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: DeclineEarlyReview = self._parse(DeclineEarlyReview, raw)
        today = local_date(now)
        decision = self._decide_early_review(msg.by)
        if any(o.group == self.CONVENED for o in self.open_obligations("early-review-decision")):
            raise m.Refusal.one(
                "(plan)",
                f"a review conference convened because the plan cannot be implemented is not declined ({self.profile.implementation_difficulty.source})",
            )
        if not apply:
            return {}
        for ob in self.open_obligations("early-review-decision"):
            ob.met_on = today
        self._log(now, today, "early-review-declined", by=msg.by, reason_ref=msg.reason_ref, obligation_id=decision.id)
        return {"declined": decision.id}

    def escalate(self, raw: Any, now: datetime) -> None:
        try:
            msg: Escalate = self._parse_report(ESCALATE, raw, now)
        except m.Refusal as err:
            self._unreadable(now, ESCALATE.name, raw, err)
            return
        to = self._person(msg.to) or m.Person(id=msg.to, role="senior-manager")
        if self.patches.entitled_senders:
            try:
                self._check_escalation_to(msg)
            except m.Refusal as err:
                self._unreadable(now, ESCALATE.name, raw, err)
                return
        self._alert(
            now,
            "manager-escalation",
            [to],
            f"escalation from {msg.by}",
            f"{msg.by} has escalated this plan to you." + (f" Reason: {msg.reason_ref}." if msg.reason_ref else ""),
        )
        self._log(now, local_date(now), "escalated-by-manager", by=msg.by, to=msg.to, reason_ref=msg.reason_ref)
        if self.patches.honest_records and not to.email:
            self._report_unreachable(now, [to])

    def _check_escalation_to(self, msg: Escalate) -> None:
        """An escalation goes to a manager: one of the plan's, or (checked against the
        organisation's directory by the HTTP API and the command line, which the workflow cannot
        read) one from outside the plan; never to oneself, never to anyone else on the plan."""
        if msg.to == msg.by:
            raise m.NotEntitled.one("to", "is who escalates: an escalation goes to someone else")
        self._check_staff("to", msg.to, "whoever an escalation goes to")
        if self._person(msg.to) is not None and not self._is_manager(msg.to):
            ids = ", ".join(p.id for p in self.state.start.managers())
            raise m.NotEntitled.one("to", f"{msg.to!r} is not one of this plan's managers ({ids})")

    def report_missing(self, raw: Any, now: datetime) -> None:
        try:
            msg: ReportMissing = self._parse_report(REPORT_MISSING, raw, now)
        except m.Refusal as err:
            self._unreadable(now, REPORT_MISSING.name, raw, err)
            return
        if self.state.state != "active" or self.state.missing_since:
            self._log(now, msg.date, "missing-reported-again")
            return
        # 002 'Children ... who go Missing': the lead social worker is told immediately.
        self.state.missing_since, self.state.missing_escalated = now, False
        ob = self._open("child-found", msg.date, msg.date, self.profile.missing.source)
        ob.reminded, ob.escalation_level = True, 2  # its own clock (hours, not working days) escalates it
        self._alert(
            now,
            "missing",
            [self.lead_social_worker(local_date(now))],
            "child reported missing",
            f"The child was reported missing on {msg.date}{_reported_by(msg.by)}. If not traced within {self.profile.missing.senior_manager_after.describe()} the senior child protection manager is told.",
            obligation_id=ob.id,
        )

    def report_found(self, raw: Any, now: datetime) -> None:
        try:
            msg: ReportFound = self._parse_report(REPORT_FOUND, raw, now)
        except m.Refusal as err:
            self._unreadable(now, REPORT_FOUND.name, raw, err)
            return
        ob = self._find_open("child-found")
        if ob is None:
            self._log(now, msg.date, "found-without-missing")
            return
        ob.met_on = max(msg.date, ob.opened_on)
        to = [self.lead_social_worker(local_date(now))] + ([self._senior()] if self.state.missing_escalated else [])
        self.state.missing_since, self.state.missing_escalated = None, False
        for person in to:
            self._notify(
                now,
                "alert",
                f"{ob.id}:found",
                person,
                "missing child found",
                f"The child was found on {msg.date}.",
                ob.id,
            )
        self._log(now, msg.date, "found", obligation_id=ob.id, by=msg.by)

    def report_death(self, raw: Any, now: datetime) -> None:
        try:
            msg: ReportDeath = self._parse_report(REPORT_DEATH, raw, now)
        except m.Refusal as err:
            self._unreadable(now, REPORT_DEATH.name, raw, err)
            return
        if self.state.state != "active":
            self._log(now, msg.date, "death-reported-after-end")
            return
        # 002 'Death of a Child ...': the senior child protection manager notifies the partnership;
        # a Child Safeguarding Practice Review is considered.
        self._alert(
            now,
            "child-died",
            [self._senior(), self._partnership()],
            "death of a child subject to a plan",
            f"The child died on {msg.date}{_reported_by(msg.by)}. The safeguarding partnership must be notified and a Child Safeguarding Practice Review considered.",
            level=2,
        )
        self._log(now, msg.date, "practice-review-to-be-considered", by=msg.by)
        self._end(now, msg.date, "child died")

    def other_wakeups(self) -> list[datetime]:
        if self.state.missing_since and not self.state.missing_escalated:
            return [self.state.missing_since + self.profile.missing.senior_manager_after.as_timedelta()]
        return []

    def fire_others(self, now: datetime) -> int:
        """002 'Children ... who go Missing': not traced within the profile's hours, the senior
        child protection manager is told."""
        if not self.state.missing_since or self.state.missing_escalated:
            return 0
        if now < self.state.missing_since + self.profile.missing.senior_manager_after.as_timedelta():
            return 0
        self.state.missing_escalated = True
        found = self._find_open("child-found")
        self._alert(
            now,
            "missing-not-traced",
            [self._senior()],
            "missing child not traced",
            f"The child reported missing at {self.state.missing_since.isoformat()} has not been traced. ({self.profile.missing.source})",
            level=2,
            obligation_id=found.id if found else None,
        )
        return 1
