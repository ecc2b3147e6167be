"""The plan as the procedures describe it: state, the rules that move it, and what people are told.

Pure and deterministic: no clock of its own (every call is given `now`), no I/O. The Temporal
workflow in `workflows.plan` feeds it messages and the passing of time; the tests drive it
directly too. Every message method first checks its input against the plan and raises
`Refusal` (changing nothing), and only then changes the state. Notifications are appended to
`state.outbox`; the workflow delivers them through an activity, each under an idempotency key
built from business ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_date, local_instant
from workflows.case import CaseEngine, Escalation, HistoryEntry, Notification
from workflows.obligations import ONE_OFF_KINDS, Action, Obligation, hold_by
from workflows.policy import Period, Profile
from workflows.status import PlanStatus


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


def before_birth(due: date, start: m.PlanStart, cal: WorkingCalendar, working_day: bool = True) -> date:
    """A pre-birth plan's first core group meets before the birth (002 'Unborn Child Protection
    Conference'): on the last working day before the expected birth at the latest."""
    birth = start.expected_birth_date
    if birth is None:
        return due
    last = cal.add_working_days(birth, -1) if working_day else birth - timedelta(days=1)
    return max(start.icpc_date, last) if last < due else due


def timetable(
    start: m.PlanStart, profile: Profile, cal: WorkingCalendar, procedures: bool = True
) -> list[tuple[str, date, str]]:
    """The first due date of every obligation the profile has, from the conference alone:
    (kind, due, seed reference). `cpplan schedule` prints it; a new plan opens exactly these.
    `procedures`: with the rules of the `procedures-2` release (a pre-birth plan's first core
    group before the birth, the core group before the review conference)."""
    icpc = start.icpc_date
    first_review = profile.first_review.within.after(icpc, cal)
    visit_every = (
        Period(working_days=start.visit_interval_working_days)
        if start.visit_interval_working_days
        else profile.visit.interval
    )
    first_core_group = profile.first_core_group.within.after(icpc, cal)
    if procedures:
        first_core_group = before_birth(first_core_group, start, cal)
    rows = [("first-core-group", first_core_group, profile.first_core_group.source)]
    rows.append(("visit", visit_every.after(icpc, cal), profile.visit.source))
    if profile.seen_alone:
        rows.append(("seen-alone", profile.seen_alone.interval.after(icpc, cal), profile.seen_alone.source))
    if profile.bedroom_seen:
        bedroom = profile.bedroom_seen.interval.after(icpc, cal) if profile.bedroom_seen.interval else first_review
        rows.append(("bedroom-seen", bedroom, profile.bedroom_seen.source))
    if profile.core_assessment:
        rows.append(
            ("core-assessment", profile.core_assessment.within.after(icpc, cal), profile.core_assessment.source)
        )
    rows.append(("review-conference", first_review, profile.first_review.source))
    if procedures and profile.core_group.before_review_conference:
        rows.append(("pre-review-core-group", cal.add_working_days(first_review, -1), profile.core_group.source))
    if profile.conference_admin:
        admin = profile.conference_admin
        rows.append(("conference-decisions", admin.decisions_circulated_within.after(icpc, cal), admin.source))
        rows.append(("conference-record", admin.record_circulated_within.after(icpc, cal), admin.source))
        rows.append(
            ("conference-report-parents", admin.report_to_parents_before.before(first_review, cal), admin.source)
        )
        rows.append(("conference-report-chair", admin.report_to_chair_before.before(first_review, cal), admin.source))
    return rows


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


class PlanEngine(CaseEngine):
    """One plan's rules over its state. Build with `begin` (a new plan) or `resume` (carried)."""

    def __init__(self, state: PlanState, profile: Profile, cal: WorkingCalendar, patches: Patches = Patches()):
        self.state = state
        self.profile = profile
        self.cal = cal
        self.patches = patches

    def _parse(self, model: type[Any], raw: Any) -> Any:
        return m.parse(model, raw, lax=not self.patches.strict_input)

    def _parse_report(self, model: type[Any], raw: Any, now: datetime) -> Any:
        """A signal's payload, checked as an update's would be: a date neither in the future nor
        before the plan, and a manager's escalation from one of the plan's managers. A report that
        fails is kept as unreadable by the caller (a signal cannot be refused)."""
        msg = self._parse(model, raw)
        if not self.patches.honest_records:
            return msg
        day = getattr(msg, "date", None)
        if day is not None:
            self._check_past("date", day, local_date(now), self.state.start.icpc_date)
        if isinstance(msg, m.Escalate):
            self._check_manager("by", msg.by)
        return msg

    # ------------------------------------------------------------------ start

    @classmethod
    def check_start(
        cls, start: m.PlanStart, profile: Profile, cal: WorkingCalendar, today: date, *, honest: bool = True
    ) -> None:
        problems: list[tuple[str, str]] = []
        if start.icpc_date > today:
            problems.append(("icpc_date", f"{start.icpc_date} is in the future"))
        if honest:
            problems += m.implausible_start(start, today)
        limit = profile.first_core_group.within.after(start.icpc_date, cal)
        if start.first_core_group_date:
            if start.first_core_group_date > limit:
                problems.append(
                    (
                        "first_core_group_date",
                        f"{start.first_core_group_date} is after its deadline {limit} ({profile.first_core_group.source})",
                    )
                )
            if profile.first_core_group.not_on_conference_day and start.first_core_group_date == start.icpc_date:
                problems.append(
                    ("first_core_group_date", f"must not be the conference day ({profile.first_core_group.source})")
                )
        review_limit = profile.first_review.within.after(start.icpc_date, cal)
        if start.first_review_date and start.first_review_date > review_limit:
            problems.append(
                (
                    "first_review_date",
                    f"{start.first_review_date} is past the statutory limit {review_limit} ({profile.first_review.source})",
                )
            )
        if problems:
            raise m.Refusal(problems)

    @classmethod
    def begin(
        cls,
        start: m.PlanStart,
        profile: Profile,
        cal: WorkingCalendar,
        now: datetime,
        patches: Patches = Patches(),
    ) -> PlanEngine:
        cls.check_start(start, profile, cal, local_date(now), honest=patches.honest_records)
        if patches.procedures and profile.chair.required and start.chair is None:
            raise m.Refusal.one("chair", f"this profile needs the review conference chair ({profile.chair.source})")
        interval = start.visit_interval_working_days or profile.visit.interval.working_days or 10
        engine = cls(PlanState(start=start, visit_interval_working_days=interval), profile, cal, patches)
        engine._open_first_obligations(now)
        if patches.honest_records:
            engine._report_unreachable(now, start.people())
        return engine

    def _report_unreachable(self, now: datetime, people: list[m.Person]) -> None:
        """People the plan must write to who have no e-mail address: their letters can only be
        recorded, so the team manager is told once who they are, to reach them another way."""
        missing = sorted({f"{p.id} ({p.role})" for p in people if not p.email})
        if not missing:
            return
        self._alert(
            now,
            "people-unreachable",
            [self._team_manager()],
            "people on the plan without an e-mail address",
            "These people have no e-mail address, so letters to them are recorded but not sent; "
            f"please reach them another way or add their address: {', '.join(missing)}.",
        )

    def _open_first_obligations(self, now: datetime) -> None:
        start, icpc = self.state.start, self.state.start.icpc_date
        self._log(
            now,
            icpc,
            "plan-started",
            policy=self.profile.id,
            conference_kind=start.conference_kind,
            category=start.category,
        )
        rows = timetable(start, self.profile, self.cal, self.patches.procedures)
        sources = {kind: source for kind, _, source in rows}
        for kind, due, source in rows:
            limit = None
            if kind == "first-core-group":
                limit, due = due, start.first_core_group_date or due
                due = before_birth(due, start, self.cal, working_day=self.patches.procedures)
            if kind == "review-conference":
                limit, due = due, start.first_review_date or due
                self._open(kind, due, icpc, source, limit=limit, number=1)
                continue
            hangs_on_review = (
                kind.startswith("conference-report")
                or kind == "pre-review-core-group"
                or (kind == "bedroom-seen" and due == self._first_review_limit())
            )
            self._open(
                kind, due, icpc, sources[kind], limit=limit, group="review-conference-1" if hangs_on_review else None
            )
        review = self._find_open("review-conference")
        if review and start.first_review_date:
            self._review_date_changed(review)
        if start.conference_kind == "pre-birth" and start.expected_birth_date:
            ideal = self.profile.pre_birth.conference_before_birth.before(start.expected_birth_date, self.cal)
            if icpc > ideal:
                self._alert(
                    now,
                    "pre-birth-late-conference",
                    [self._team_manager()],
                    f"pre-birth conference held {icpc}, less than {self.profile.pre_birth.conference_before_birth.describe()} before the expected birth {start.expected_birth_date}",
                    f"The pre-birth conference should ideally be held by {ideal} ({self.profile.pre_birth.source}). Plan the core group before the birth.",
                )
        if start.conference_kind == "transfer-in":
            self._log(
                now, icpc, "transfer-in", note=f"treated as an initial conference ({self.profile.transfer_in.source})"
            )

    # ------------------------------------------------------------------ helpers

    def _first_review_limit(self) -> date:
        return self.profile.first_review.within.after(self.state.start.icpc_date, self.cal)

    def _open(
        self,
        kind: str,
        due: date,
        opened_on: date,
        source: str,
        *,
        limit: date | None = None,
        member_id: str | None = None,
        group: str | None = None,
        number: int | None = None,
    ) -> Obligation:
        n = number if number is not None else self._next_number(kind)
        if number is not None:
            self.state.counters[kind] = max(self.state.counters.get(kind, 0), number)
        ident = kind if kind == "first-core-group" else f"{kind}-{n}"
        if member_id:
            ident = f"{kind}-{group}-{member_id}"
        ob = Obligation(
            id=ident,
            kind=kind,
            due=due,
            opened_on=opened_on,
            limit=limit,
            member_id=member_id,
            group=group,
            source=source,
        )
        self.state.obligations.append(ob)
        return ob

    def describe(self, ob: Obligation) -> str:
        """An obligation in words; a limit on a non-working day says the working day to hold it by."""
        return ob.describe(self.cal if self.patches.procedures else None)

    def _find_open(self, *kinds: str) -> Obligation | None:
        found = [o for o in self.state.obligations if o.open and o.kind in kinds]
        return min(found, key=lambda o: (o.due, o.id)) if found else None

    def _person(self, person_id: str) -> m.Person | None:
        for p in self.state.start.people():
            if p.id == person_id:
                return p
        if self.state.cover and self.state.cover.person.id == person_id:
            return self.state.cover.person
        return None

    def lead_social_worker(self, today: date) -> m.Person:
        cover = self.state.cover
        if cover and (cover.until is None or today <= cover.until):
            return cover.person
        return self.state.start.lead_social_worker

    def _team_manager(self) -> m.Person:
        return self.state.start.team_manager

    def _second_level(self) -> m.Person:
        s = self.state.start
        return s.service_manager or s.senior_manager or s.team_manager

    def _senior(self) -> m.Person:
        s = self.state.start
        return s.senior_manager or s.service_manager or s.team_manager

    def _partnership(self) -> m.Person:
        return m.Person(id=f"{self.profile.id}-safeguarding-partnership", role="partnership")

    def _everyone(self, today: date) -> list[m.Person]:
        """Core group, lead social worker and team manager: who is told of meetings in writing."""
        seen: dict[str, m.Person] = {}
        for p in [self.lead_social_worker(today), self._team_manager(), *self.state.start.core_group]:
            seen.setdefault(p.id, p)
        return list(seen.values())

    def _is_manager(self, person_id: str) -> bool:
        return any(p.id == person_id for p in self.state.start.managers())

    def _check_manager(self, field: str, person_id: str) -> None:
        if not self._is_manager(person_id):
            ids = ", ".join(p.id for p in self.state.start.managers())
            raise m.Refusal.one(
                field, f"{person_id!r} is not one of this plan's managers ({ids}); this decision needs a manager"
            )

    def _alert(
        self,
        now: datetime,
        kind: str,
        to: list[m.Person],
        subject: str,
        body: str,
        *,
        level: int = 1,
        obligation_id: str | None = None,
    ) -> None:
        n = self._next_number(f"alert-{kind}")
        for person in to:
            self._notify(now, "alert", f"{kind}-{n}", person, subject, body, obligation_id)
            self.state.escalations.append(
                Escalation(kind=kind, level=level, to=person.id, at=now, obligation_id=obligation_id)
            )
        self._log(now, local_date(now), kind, to=[p.id for p in to], obligation_id=obligation_id)

    def _letters(self, now: datetime, key: str, subject: str, body: str) -> None:
        for person in self._everyone(local_date(now)):
            self._notify(now, "letter", key, person, subject, body)

    @staticmethod
    def _check_past(field: str, day: date, today: date, not_before: date, what: str = "the plan started") -> None:
        if day > today:
            raise m.Refusal.one(field, f"{day} is in the future")
        if day < not_before:
            raise m.Refusal.one(field, f"{day} is before {what} ({not_before})")

    def _check_active(self) -> None:
        if self.state.state != "active":
            raise m.Refusal.one("(plan)", f"the plan ended on {self.state.ended_on} ({self.state.end_reason})")

    # ------------------------------------------------------------------ the kernel's rules

    # Plan {plan_id} ... A {name} message could not be applied ({error}), then:
    MESSAGE_FAILED_ADVICE = (
        ". The plan's other clocks carry on; please check the plan and record it again, or report the fault."
    )

    @property
    def case_ref(self) -> str:
        return self.state.start.plan_id

    @property
    def plan_id(self) -> str:
        return self.state.start.plan_id

    def heading(self) -> tuple[str, str]:
        s = self.state.start
        return f"[cpplan {s.plan_id}] ", f"Plan {s.plan_id} (child {s.child_ref})."

    def responsible(self, ob: Obligation, today: date) -> m.Person:
        """A member's own task (a signature) is theirs; every other the lead social worker's."""
        return (self._person(ob.member_id) if ob.member_id else None) or self.lead_social_worker(today)

    def escalation_to(self, ob: Obligation, level: int) -> m.Person:
        """The team manager on the first working day after the due date, then the second level."""
        return self._team_manager() if level == 1 else self._second_level()

    def first_contact(self) -> m.Person:
        return self._team_manager()

    def next_contact(self) -> m.Person:
        return self._second_level()

    def told_of_unreadable(self, today: date) -> list[m.Person]:
        return [self.lead_social_worker(today), self._team_manager()]

    def warn(self, now: datetime, kind: str, to: list[m.Person], subject: str, body: str) -> None:
        self._alert(now, kind, to, subject, body)

    def next_action(self, ob: Obligation) -> tuple[datetime, Action] | None:
        return ob.next_action(self.profile, self.cal, self.patches.overdue_wake, self.patches.procedures)

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

    # ------------------------------------------------------------------ visits

    def record_visit(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.RecordVisit = self._parse(m.RecordVisit, raw)
        today = local_date(now)
        self._check_active()
        self._check_past("date", msg.date, today, self.state.start.icpc_date)
        if self.state.last_visit_on and msg.date < self.state.last_visit_on:
            raise m.Refusal.one(
                "date",
                f"{msg.date} is before the last recorded visit ({self.state.last_visit_on}); record visits in order",
            )
        if not msg.seen and (msg.seen_alone or msg.bedroom_seen):
            raise m.Refusal.one("seen", "a visit where the child was not seen cannot have seen_alone or bedroom_seen")
        if self.patches.procedures and msg.by is not None and self._person(msg.by) is None:
            raise m.Refusal.one("by", f"{msg.by!r} is not one of this plan's people")
        if not apply:
            return {}
        statutory = msg.seen and msg.location in self.profile.visit.statutory_locations
        by_someone_else = self.patches.procedures and not self._visits_for_lead_social_worker(msg.by, msg.date)
        if statutory and by_someone_else:
            # 002 'Lead Social Worker Role': seen at least every 10 working days *by the Lead Social
            # Worker*; a sighting by a health visitor or anyone else is recorded, not a statutory visit.
            statutory = False
            self._log(
                now,
                msg.date,
                "visit-not-statutory",
                by=msg.by,
                note=f"not the lead social worker or their cover ({self.profile.visit.source})",
            )
        self.state.last_visit_on = msg.date
        self._log(
            now,
            msg.date,
            "visit",
            seen=msg.seen,
            seen_alone=msg.seen_alone,
            bedroom_seen=msg.bedroom_seen,
            location=msg.location,
            statutory=statutory,
            by=msg.by,
        )
        if statutory:
            self.state.consecutive_no_access = 0
            self._meet_and_renew(
                "visit",
                msg.date,
                Period(working_days=self.state.visit_interval_working_days),
                self.profile.visit.source,
            )
        if msg.seen and msg.seen_alone and self.profile.seen_alone:
            self._meet_and_renew(
                "seen-alone", msg.date, self.profile.seen_alone.interval, self.profile.seen_alone.source
            )
        if msg.seen and msg.bedroom_seen and self.profile.bedroom_seen:
            rule = self.profile.bedroom_seen
            self._meet_and_renew("bedroom-seen", msg.date, rule.interval, rule.source)
        if msg.parents_refused_seen_alone:
            # 000 9.4.6: if parents refuse the child being seen alone, the manager must be informed.
            self._alert(
                now,
                "parents-refused-seen-alone",
                [self._team_manager()],
                "parents refused the child being seen alone",
                f"On {msg.date} the parents refused the child being seen alone (000 9.4.6).",
            )
        if not msg.seen:
            self.state.consecutive_no_access += 1
            self._no_access(now, msg.date)
        return {"statutory": statutory, "next_due": self._due_of("visit")}

    def _visits_for_lead_social_worker(self, by: str | None, on: date) -> bool:
        """Whether a visit by `by` counts as the lead social worker's, where the profile says only
        theirs does. A visit recorded without `by` is the lead social worker's."""
        if not self.profile.visit.by_lead_social_worker_only or by is None:
            return True
        return by in (self.state.start.lead_social_worker.id, self.lead_social_worker(on).id)

    def _no_access(self, now: datetime, on: date) -> None:
        rule = self.profile.no_access
        if self.state.consecutive_no_access < rule.consecutive_visits:
            return
        self.state.consecutive_no_access = 0
        ob = self._open("police-action", rule.police_action_within.after(on, self.cal), on, rule.source)
        people = [self._team_manager(), *[p for p in self.state.start.core_group if p.id != self._team_manager().id]]
        if self.patches.honest_records:
            # Action agreed with the police is for the professionals, not the family.
            people = [p for p in people if p.role not in m.FAMILY_ROLES]
        self._alert(
            now,
            "no-access",
            people,
            f"no access to the child on {rule.consecutive_visits} consecutive visits",
            f"The child was not seen on {rule.consecutive_visits} consecutive visits (last {on}). "
            f"Action must be agreed with the police: {ob.describe()}. ({rule.source})",
            obligation_id=ob.id,
        )

    def _meet_and_renew(self, kind: str, on: date, every: Period | None, source: str) -> None:
        """Meet the open clock of `kind` and start the next one from what actually happened."""
        ob = self._find_open(kind)
        if ob:
            ob.met_on = on
        if every is not None:
            self._open(kind, every.after(on, self.cal), on, source)

    def _due_of(self, kind: str) -> str | None:
        ob = self._find_open(kind)
        return ob.due.isoformat() if ob else None

    def set_visit_frequency(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.SetVisitFrequency = self._parse(m.SetVisitFrequency, raw)
        self._check_active()
        # 000 9.4.7: a less frequent contact level must be authorised by the LA manager.
        self._check_manager("by", msg.by)
        if not apply:
            return {}
        self.state.visit_interval_working_days = msg.interval_working_days
        base = self.state.last_visit_on or self.state.start.icpc_date
        ob = self._find_open("visit")
        if ob:
            ob.reschedule(self.cal.add_working_days(base, msg.interval_working_days))
        self._log(
            now,
            local_date(now),
            "visit-frequency-set",
            interval_working_days=msg.interval_working_days,
            by=msg.by,
            reason_ref=msg.reason_ref,
        )
        return {"next_due": self._due_of("visit")}

    # ------------------------------------------------------------------ core groups

    def _core_group_interval(self) -> Period:
        if self.state.start.core_group_interval_weeks:
            return Period(weeks=self.state.start.core_group_interval_weeks)
        rule = self.profile.core_group
        if self.state.reviews_held and rule.interval_after_first_review:
            return rule.interval_after_first_review
        return rule.interval

    def record_core_group(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.RecordCoreGroup = self._parse(m.RecordCoreGroup, raw)
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
        return {"met": group, "next_due": nxt.due.isoformat(), "notes_due": notes_due.isoformat()}

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
        msg: m.RecordNotesCirculated = self._parse(m.RecordNotesCirculated, raw)
        today = local_date(now)
        self._check_active()
        ob = self._find_open("notes-circulated")
        if ob is None:
            raise m.Refusal.one("(plan)", "no core group notes are outstanding")
        self._check_past("date", msg.date, today, ob.opened_on, "the core group meeting")
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
        msg: m.RecordSignature = self._parse(m.RecordSignature, raw)
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

    # ------------------------------------------------------------------ meetings

    def schedule_meeting(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.ScheduleMeeting = self._parse(m.ScheduleMeeting, raw)
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
                    raise m.Refusal.one(
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

    def _review_date_changed(self, review: Obligation) -> None:
        """Clocks that hang on the review date move with it."""
        admin = self.profile.conference_admin
        for ob in self.state.obligations:
            if not ob.open or ob.group != review.id:
                continue
            if admin and ob.kind == "conference-report-parents":
                ob.reschedule(admin.report_to_parents_before.before(review.due, self.cal))
            elif admin and ob.kind == "conference-report-chair":
                ob.reschedule(admin.report_to_chair_before.before(review.due, self.cal))
            elif (
                ob.kind == "bedroom-seen"
                and self.profile.bedroom_seen
                and self.profile.bedroom_seen.once_between_conferences
            ):
                ob.reschedule(review.due)
            elif ob.kind == "pre-review-core-group":
                # 004 'Core Groups': a review brought forward brings its core group forward too.
                ob.reschedule(self.cal.add_working_days(review.due, -1))

    # ------------------------------------------------------------------ reviews

    def record_review_conference(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.RecordReviewConference = self._parse(m.RecordReviewConference, raw)
        today = local_date(now)
        self._check_active()
        ob = self._find_open("review-conference")
        if ob is None:
            raise m.Refusal.one("(plan)", "no review conference is outstanding")
        self._check_past("date", msg.date, today, self.state.start.icpc_date)
        later = self.profile.later_review.within.after(msg.date, self.cal)
        if msg.outcome == "continue" and msg.next_review_date is not None:
            if msg.next_review_date <= msg.date or msg.next_review_date > later:
                raise m.Refusal.one(
                    "next_review_date",
                    f"{msg.next_review_date} must be after {msg.date} and no later than {later} ({self.profile.later_review.source})",
                )
        inquorate_limit = self.profile.inquorate.new_date_within.after(msg.date, self.cal)
        if msg.outcome == "inquorate" and msg.next_review_date is not None:
            if msg.next_review_date <= msg.date or msg.next_review_date > inquorate_limit:
                raise m.Refusal.one(
                    "next_review_date",
                    f"{msg.next_review_date} must be after {msg.date} and no later than {inquorate_limit} ({self.profile.inquorate.source})",
                )
        if self.patches.procedures:
            self._check_review_outcome(msg)
        else:
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
                    raise m.Refusal.one(
                        "by", "ending the plan at the first review conference needs the manager who agreed it"
                    )
                self._check_manager("by", msg.by)
        if not apply:
            return {}
        if msg.outcome == "inquorate":
            # 002: an interim plan stands; another date, usually within a month, set immediately.
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
        ob.met_on = msg.date
        self.state.reviews_held += 1
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
        if msg.outcome == "continue":
            nxt = self._open_next_review(msg, later)
            return {"outcome": "continue", "next_due": nxt.due.isoformat()}
        if msg.outcome == "transfer-out" and self.patches.procedures:
            return self._transfer_out(msg, later, now)
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

    def _open_next_review(self, msg: m.RecordReviewConference, later: date) -> Obligation:
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

    def _check_review_outcome(self, msg: m.RecordReviewConference) -> None:
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

    def _transfer_out(self, msg: m.RecordReviewConference, later: date, now: datetime) -> dict[str, Any]:
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

    def _schedule_transfer_conference(self, msg: m.ScheduleMeeting, now: datetime, apply: bool) -> dict[str, Any]:
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

    def _step_down(self, msg: m.RecordReviewConference, now: datetime) -> Obligation | None:
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

    def _without_child_in_need_plan(self, msg: m.RecordReviewConference, now: datetime) -> Obligation:
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

    # What an ended plan still owes: the administration of its conferences (002 'Conference
    # record': decisions within 2 and the record within 20 working days, a review that ends or
    # transfers the plan included) and its step-down.
    OUTLIVES_THE_PLAN = ("conference-decisions", "conference-record", "cin-meeting", "step-down-supervision")

    def _end(self, now: datetime, on: date, reason: str, keep: Obligation | None = None) -> None:
        kept = [o for o in self.state.obligations if o.open and (o is keep or self._outlives(o))]
        closed = [o.id for o in self.state.obligations if o.open and o not in kept]
        self.state.obligations = [o for o in self.state.obligations if not o.open or o in kept]
        self.state.state, self.state.ended_on, self.state.end_reason = "ended", on, reason
        self.state.missing_since = None
        self._log(now, on, "plan-ended", reason=reason, closed=closed or None)

    def _outlives(self, ob: Obligation) -> bool:
        return self.patches.procedures and ob.kind in self.OUTLIVES_THE_PLAN

    @property
    def finished(self) -> bool:
        """Ended, with nothing left to chase (the step-down meeting, if any, recorded)."""
        return self.state.state == "ended" and not self.open_obligations()

    # ------------------------------------------------------------------ one-off tasks

    def record_completion(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.RecordMeeting = self._parse(m.RecordMeeting, raw)
        today = local_date(now)
        ob = next((o for o in self.state.obligations if o.id == msg.obligation_id), None)
        if ob is None:
            raise m.Refusal.one("obligation_id", f"no obligation {msg.obligation_id!r} on this plan")
        if ob.kind not in ONE_OFF_KINDS or ob.kind == "early-review-decision" or ob.kind == "child-found":
            raise m.Refusal.one("obligation_id", f"{ob.kind} is recorded with its own message, not record_completion")
        if not ob.open:
            raise m.Refusal.one("obligation_id", f"{ob.id} was already recorded on {ob.met_on}")
        self._check_past("date", msg.date, today, ob.opened_on, "the obligation was opened")
        if not apply:
            return {}
        ob.met_on = msg.date
        self._log(now, msg.date, "completed", obligation_id=ob.id)
        if ob.kind == "transfer-conference" and self.state.state == "active":
            # 002 'Transfer Child Protection Conference': held, so the plan is the receiving
            # authority's now; what this authority still owes its own conferences stays open.
            self._end(now, msg.date, f"transferred out ({ob.group})" if ob.group else "transferred out")
        return {"met": ob.id, "status": ob.status(today), "state": self.state.state}

    # ------------------------------------------------------------------ incidents and decisions

    def report_incident(self, raw: Any, now: datetime) -> None:
        """A signal: recorded even when it cannot be checked (it must never be lost)."""
        today = local_date(now)
        try:
            msg: m.ReportIncident = self._parse_report(m.ReportIncident, raw, now)
        except m.Refusal as err:
            self._unreadable(now, "report_incident", raw, err)
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
        self._log(now, msg.date, "incident", kind=msg.kind, summary_ref=msg.summary_ref, obligation_id=ob.id)
        # 000 9.4.13-14; 002; 001 6.4.3; 003 §3: consider bringing the review forward.
        self._alert(
            now,
            "early-review-requested",
            [self._team_manager()],
            f"early review asked for after {msg.kind} on {msg.date}",
            f"A {msg.kind} was reported on {msg.date}. Please authorise or decline an early review conference ({ob.describe()}).",
            obligation_id=ob.id,
        )

    CONVENED = "convened: the plan cannot be implemented"

    def _cannot_be_implemented(self, msg: m.ReportIncident, now: datetime) -> None:
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
        self._alert(
            now,
            "plan-cannot-be-implemented",
            [chair or self._second_level(), self._team_manager()],
            "urgent: the child protection plan cannot be implemented",
            f"On {msg.date} it was reported that the plan cannot be implemented. A review conference is to be "
            f"convened: {ob.describe()} (set its date with authorise_early_review)."
            + ("" if chair else " No chair is recorded on this plan: please pass this to the chair.")
            + f" ({rule.source})",
            obligation_id=ob.id,
        )

    def _unreadable(self, now: datetime, name: str, raw: Any, err: m.Refusal) -> None:
        # Keep the shape of what came, not its content (it may hold personal data).
        shape = sorted(raw.keys()) if isinstance(raw, dict) else type(raw).__name__
        self.unreadable(now, name, str(err), fields=shape)

    def _decide_early_review(self, by: str) -> Obligation:
        self._check_active()
        self._check_manager("by", by)
        ob = self._find_open("early-review-decision")
        if ob is None:
            raise m.Refusal.one("(plan)", "no early review has been asked for")
        return ob

    def authorise_early_review(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.AuthoriseEarlyReview = self._parse(m.AuthoriseEarlyReview, raw)
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
        msg: m.DeclineEarlyReview = self._parse(m.DeclineEarlyReview, raw)
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
            msg: m.Escalate = self._parse_report(m.Escalate, raw, now)
        except m.Refusal as err:
            self._unreadable(now, "escalate", raw, err)
            return
        to = self._person(msg.to) or m.Person(id=msg.to, role="senior-manager")
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

    # ------------------------------------------------------------------ missing, death, people

    def report_missing(self, raw: Any, now: datetime) -> None:
        try:
            msg: m.ReportMissing = self._parse_report(m.ReportMissing, raw, now)
        except m.Refusal as err:
            self._unreadable(now, "report_missing", raw, err)
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
            f"The child was reported missing on {msg.date}. If not traced within {self.profile.missing.senior_manager_after.describe()} the senior child protection manager is told.",
            obligation_id=ob.id,
        )

    def report_found(self, raw: Any, now: datetime) -> None:
        try:
            msg: m.ReportFound = self._parse_report(m.ReportFound, raw, now)
        except m.Refusal as err:
            self._unreadable(now, "report_found", raw, err)
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
        self._log(now, msg.date, "found", obligation_id=ob.id)

    def report_death(self, raw: Any, now: datetime) -> None:
        try:
            msg: m.ReportDeath = self._parse_report(m.ReportDeath, raw, now)
        except m.Refusal as err:
            self._unreadable(now, "report_death", raw, err)
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
            f"The child died on {msg.date}. The safeguarding partnership must be notified and a Child Safeguarding Practice Review considered.",
            level=2,
        )
        self._log(now, msg.date, "practice-review-to-be-considered")
        self._end(now, msg.date, "child died")

    def change_lead_social_worker(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: m.ChangeLeadSocialWorker = self._parse(m.ChangeLeadSocialWorker, raw)
        today = local_date(now)
        self._check_active()
        if self.patches.honest_records and not msg.person.email:
            raise m.Refusal.one("person.email", "required: the lead social worker is sent every reminder")
        if msg.cover_until is not None and msg.cover_until < today:
            raise m.Refusal.one("cover_until", f"{msg.cover_until} is in the past")
        if not apply:
            return {}
        person = msg.person.model_copy(update={"role": "lead-social-worker"})
        if msg.cover_until is None:
            self.state.start = self.state.start.model_copy(update={"lead_social_worker": person})
            self.state.cover = None
            words = f"{person.id} is now the lead social worker"
        else:
            self.state.cover = Cover(person=person, until=msg.cover_until)
            words = f"{person.id} covers as lead social worker until {msg.cover_until}"
        n = self._next_number("letter")
        # 000 9.4.15-16; 002 'Absence of the Lead Social Worker': family and core group told who covers.
        self._letters(
            now, f"letter-{n}", "lead social worker " + ("changed" if msg.cover_until is None else "cover"), words + "."
        )
        self._log(
            now,
            today,
            "lead-social-worker-changed",
            person=person.id,
            cover_until=msg.cover_until.isoformat() if msg.cover_until else None,
        )
        return {"lead_social_worker": person.id}

    # ------------------------------------------------------------------ status

    def status(self, now: datetime) -> PlanStatus:
        today = local_date(now)
        s = self.state
        obligations = [
            self._obligation_view(
                o,
                today,
                limit=o.limit,
                hold_by=held if self.patches.procedures and (held := hold_by(o.due, self.cal)) != o.due else None,
                member_id=o.member_id,
            )
            for o in s.obligations
        ]
        return PlanStatus(
            plan_id=s.start.plan_id,
            child_ref=s.start.child_ref,
            policy=self.profile.id,
            state=s.state,
            icpc_date=s.start.icpc_date,
            conference_kind=s.start.conference_kind,
            lead_social_worker=self.lead_social_worker(today).id,
            team_manager=s.start.team_manager.id,
            visit_interval_working_days=s.visit_interval_working_days,
            reviews_held=s.reviews_held,
            missing=s.missing_since is not None,
            ended_on=s.ended_on,
            end_reason=s.end_reason,
            obligations=obligations,
            overdue_count=self._overdue_count(today),
            escalations=self._escalation_views(),
            next_due=self._next_due(),
            history=self._history_views(),
        )

    def waiting_for(self, now: datetime) -> str:
        """Words for the Temporal UI: what the plan waits for next."""
        pending = sorted((o for o in self.state.obligations if o.open), key=lambda o: (o.due, o.id))
        if not pending:
            return "nothing outstanding"
        return "; ".join(o.describe() for o in pending[:3])


def local_time_of(day: date, profile: Profile) -> datetime:
    return local_instant(day, profile.notify_at)
