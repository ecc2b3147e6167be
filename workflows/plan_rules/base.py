"""What every rule of a plan works with: its people, its obligations, its alerts and letters,
the kernel's questions answered for a plan (who is reminded, who is told at each escalation
level), and how a plan ends.

The plan's rules are mixins over `PlanRules`, one module per subject, composed into
`workflows.engine.PlanEngine`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_date
from workflows.case import CaseEngine, Escalation
from workflows.message_spec import MessageSpec
from workflows.obligations import Action, Obligation
from workflows.plan_rules.state import LATEST, Patches, PlanState
from workflows.policy import Profile
from workflows.status_json import StatusJsonCache


class PlanRules(CaseEngine):
    """One plan's state, profile, calendar and rule releases, and the helpers every rule uses."""

    state: PlanState

    def __init__(self, state: PlanState, profile: Profile, cal: WorkingCalendar, patches: Patches = LATEST):
        self.state = state
        self.profile = profile
        self.cal = cal
        self.patches = patches
        self._status_json = StatusJsonCache()  # PlanEngine.status_json's; never in the state

    def _parse(self, model: type[Any], raw: Any) -> Any:
        return m.parse(model, raw, lax=not self.patches.strict_input)

    def _parse_report(self, spec: MessageSpec, raw: Any, now: datetime) -> Any:
        """A signal's payload, checked as an update's would be: a date neither in the future nor
        before the plan, and a manager's report (an escalation) from one of the plan's managers. A
        report that fails is kept as unreadable by the caller (a signal cannot be refused)."""
        msg = self._parse(spec.model, raw)
        if not self.patches.honest_records:
            return msg
        day = getattr(msg, "date", None)
        if day is not None:
            self._check_past("date", day, local_date(now), self.state.start.icpc_date)
        if spec.decided_by == "manager":
            self._check_manager("by", msg.by)
        return msg

    def _unreadable(self, now: datetime, name: str, raw: Any, err: m.Refusal) -> None:
        # Keep the shape of what came, not its content (it may hold personal data).
        shape = sorted(raw.keys()) if isinstance(raw, dict) else type(raw).__name__
        self.unreadable(now, name, str(err), fields=shape)

    # ------------------------------------------------------------------ obligations

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

    def _due_of(self, kind: str) -> str | None:
        ob = self._find_open(kind)
        return ob.due.isoformat() if ob else None

    # ------------------------------------------------------------------ people

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
            raise m.NotYours.one(
                field, f"{person_id!r} is not one of this plan's managers ({ids}); this decision needs a manager"
            )

    # ------------------------------------------------------------------ telling people

    def limits_warnings(self) -> bool:
        # Plans recorded before honest-records warned of every unreadable message, and replay so.
        return self.patches.honest_records

    def bounds_unreadable(self) -> bool:
        # Plans recorded before bounded-unreadable kept every one, and replay so: a shorter
        # history would change when the plan saves itself to the read model.
        return self.patches.bounded_unreadable

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
    # ------------------------------------------------------------------ checks

    def _check_past(field: str, day: date, today: date, not_before: date, what: str = "the plan started") -> None:
        if day > today:
            raise m.Refusal.one(field, f"{day} is in the future")
        if day < not_before:
            raise m.Refusal.one(field, f"{day} is before {what} ({not_before})")

    def _check_active(self) -> None:
        if self.state.state != "active":
            raise m.Refusal.one("(plan)", f"the plan ended on {self.state.ended_on} ({self.state.end_reason})")

    # ------------------------------------------------------------------ the kernel's rules

    # What follows "A {name} message could not be applied ({error})" in the team manager's alert.
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
        """A member's own task (a signature) is theirs; the chair's letters to professionals who
        missed a conference the chair's (else the team manager's, to pass on); every other the
        lead social worker's (a report to a parent excluded included: the parent is not chased)."""
        if ob.kind == "attendance-letter":
            return self.state.start.chair or self._team_manager()
        if ob.kind == "excluded-parent-report":
            return self.lead_social_worker(today)
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

    # ------------------------------------------------------------------ the review's clocks, the end

    def _review_date_changed(self, review: Obligation) -> None:
        """Clocks that hang on the review date move with it."""
        admin = self.profile.conference_admin
        for ob in self.state.obligations:
            if not ob.open or ob.group != review.id:
                continue
            if admin and ob.kind == "excluded-parent-report" and admin.report_to_excluded_parents_before:
                # 002: a parent excluded gets the report five working days before the conference,
                # wherever the conference moves.
                ob.reschedule(max(ob.opened_on, admin.report_to_excluded_parents_before.before(review.due, self.cal)))
            elif admin and ob.kind == "conference-report-parents":
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
                # 004 'Core Groups': a review brought forward brings its core group forward too,
                # and a core group already held within the period before the new date meets it.
                ob.reschedule(self.cal.add_working_days(review.due, -1))
                window = self.profile.core_group.before_review_conference
                held = self.state.last_core_group_on
                if self.patches.procedures and window and held and held >= window.before(review.due, self.cal):
                    ob.met_on = held

    # What a review conference is prepared with: once it is held, those not yet due are moot (a
    # report for a conference that has happened), while those already late stay to be recorded.
    PREPARES_THE_REVIEW = (
        "conference-report-parents",
        "conference-report-chair",
        "pre-review-core-group",
        "excluded-parent-report",
    )

    def _review_held(self, review: Obligation, held: date, now: datetime) -> None:
        if not self.patches.procedures:
            return
        moot = [
            o
            for o in self.state.obligations
            if o.open and o.group == review.id and o.due > held and o.kind in self.PREPARES_THE_REVIEW
        ]
        if moot:
            self.state.obligations = [o for o in self.state.obligations if o not in moot]
            self._log(now, held, "preparation-closed", review=review.id, closed=[o.id for o in moot])

    # What an ended plan still owes: the administration of its conferences (002 'Conference
    # record': decisions within 2 and the record within 20 working days, a review that ends or
    # transfers the plan included) and its step-down.
    OUTLIVES_THE_PLAN = (
        "conference-decisions",
        "conference-record",
        "cin-meeting",
        "step-down-supervision",
        "attendance-letter",
    )

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

    def waiting_for(self, now: datetime) -> str:
        """Words for the Temporal UI: what the plan waits for next."""
        pending = sorted((o for o in self.state.obligations if o.open), key=lambda o: (o.due, o.id))
        if not pending:
            return "nothing outstanding"
        return "; ".join(o.describe() for o in pending[:3])
