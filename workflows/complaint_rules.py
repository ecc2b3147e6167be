"""Complaints about a child protection conference, as Darlington's procedure states them.

002 'Child Protection Conference Complaints' (procedures.md, "Rules that only some profiles
have"). Three stages, each with its clocks from the profile's `[complaints]` rule:

1. service manager (Independent Review and Safeguarding Partnership): responds within 10
   working days of receiving the complaint. The complainant is then satisfied (`close`) or not
   (`escalate_to_scrutineer`);
2. Statutory Safeguarding Partners / Independent Scrutineer, from the day they receive it:
   written acknowledgement within 5 working days, documents considered within 15, a written
   response within 30;
3. appeal: the subcommittee meets within 20 working days of the complainant's written
   notification; the outcome reaches the complainant within 5 working days of the meeting.
   That is the end of the procedure (the Local Government Ombudsman lies beyond it).

Pure and deterministic like `workflows.engine`: no Temporal, no clock of its own (every call
is given `now`), no I/O. Each message method checks its input first and raises `Refusal`
(changing nothing), and only then changes the state; notifications are left in
`state.outbox` under keys `{complaint_id}:{obligation}:{action}:{person}` for the workflow
(`workflows.complaint`) to deliver.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_date
from workflows.case import CaseEngine, Escalation, HistoryEntry, Notification
from workflows.message_spec import update
from workflows.obligations import Obligation
from workflows.policy import ComplaintRule, Period, Profile
from workflows.status import ComplaintStatus

COMPLAINT_WORKFLOW_TYPE = "ConferenceComplaint"


def complaint_workflow_id(complaint_id: str) -> str:
    return f"cp-complaint-{complaint_id}"


Stage = Literal["service-manager", "scrutineer", "appeal"]

# The obligations, in the order the procedure meets them: (id, words, stage).
SERVICE_MANAGER_RESPONSE = "service-manager-response"
ACKNOWLEDGEMENT = "acknowledgement"
CONSIDERATION = "consideration"
WRITTEN_RESPONSE = "written-response"
APPEAL_MEETING = "appeal-meeting"
APPEAL_OUTCOME = "appeal-outcome"

DESCRIPTIONS = {
    SERVICE_MANAGER_RESPONSE: "service manager's response to the complainant",
    ACKNOWLEDGEMENT: "written acknowledgement to the complainant",
    CONSIDERATION: "documents considered by the scrutineer",
    WRITTEN_RESPONSE: "written response to the complainant",
    APPEAL_MEETING: "appeal subcommittee meeting",
    APPEAL_OUTCOME: "appeal outcome to the complainant",
}

STAGE_OF = {
    SERVICE_MANAGER_RESPONSE: "service-manager",
    ACKNOWLEDGEMENT: "scrutineer",
    CONSIDERATION: "scrutineer",
    WRITTEN_RESPONSE: "scrutineer",
    APPEAL_MEETING: "appeal",
    APPEAL_OUTCOME: "appeal",
}


class NoComplaintsProcedure(Exception):
    """The authority's profile has no `[complaints]` rule: this workflow cannot run for it."""


class ComplaintStart(m.Message):
    complaint_id: m.Ref
    plan_id: m.Ref
    policy: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")]
    received_date: date
    complainant_ref: m.Ref
    service_manager: m.Person  # Service Manager, Independent Review and Safeguarding Partnership
    scrutineer: m.Person  # Statutory Safeguarding Partners / Independent Scrutineer
    aspect: Literal["process", "category", "decision"]

    @model_validator(mode="after")
    def _two_people(self) -> ComplaintStart:
        if self.service_manager.id == self.scrutineer.id:
            raise ValueError(
                "scrutineer: must be someone other than the service manager (the second stage is independent)"
            )
        return self


class Dated(m.Message):
    """record_response, escalate_to_scrutineer, record_acknowledgement, record_consideration,
    record_written_response, request_appeal, record_appeal_meeting, record_appeal_outcome."""

    date: date


class CloseComplaint(m.Message):
    date: date
    reason_ref: m.Ref | None = None


# The complaint's messages, in the order the procedure reaches them (`workflows.messages`
# lists them as COMPLAINT_MESSAGES); each one's rule is the `ComplaintEngine` method of its name.
MESSAGES = (
    update("record_response", Dated, "the service manager's response sent to the complainant"),
    update("close", CloseComplaint, "the complainant is satisfied: the complaint closes"),
    update("escalate_to_scrutineer", Dated, "the complainant is not satisfied: to the independent scrutineer"),
    update("record_acknowledgement", Dated, "the scrutineer's written acknowledgement sent"),
    update("record_consideration", Dated, "the scrutineer has considered the documents"),
    update("record_written_response", Dated, "the scrutineer's written response sent"),
    update("request_appeal", Dated, "the complainant appeals: an appeal subcommittee is arranged"),
    update("record_appeal_meeting", Dated, "the appeal subcommittee met"),
    update("record_appeal_outcome", Dated, "the appeal outcome sent: the complaint ends"),
)


class ComplaintState(BaseModel):
    start: ComplaintStart
    stage: Stage = "service-manager"
    state: Literal["active", "closed"] = "active"
    closed_on: date | None = None
    close_reason: str | None = None
    close_reason_ref: str | None = None
    # The day each stage began: dates recorded in a stage may not be earlier.
    responded_on: date | None = None
    scrutineer_received_on: date | None = None
    appeal_requested_on: date | None = None
    last_event_on: date
    counters: dict[str, int] = Field(default_factory=dict)
    obligations: list[Obligation] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    outbox: list[Notification] = Field(default_factory=list)


def complaints_rule(profile: Profile) -> ComplaintRule:
    if profile.complaints is None:
        raise NoComplaintsProcedure(
            f"policy {profile.id!r} has no complaints procedure for conferences (no [complaints] rule in its profile)"
        )
    return profile.complaints


class ComplaintEngine(CaseEngine):
    """One complaint's rules over its state. Build a new one with `begin`."""

    state: ComplaintState

    def __init__(self, state: ComplaintState, profile: Profile, cal: WorkingCalendar):
        self.state = state
        self.profile = profile
        self.rule = complaints_rule(profile)
        self.cal = cal
        # A date in any year, as a complaint recorded before dates were bounded read them
        # (workflows.complaint sets it from the DATES_IN_RANGE_PATCH marker).
        self.any_year = False

    # ------------------------------------------------------------------ start

    @classmethod
    def begin(cls, start: ComplaintStart, profile: Profile, cal: WorkingCalendar, now: datetime) -> ComplaintEngine:
        rule = complaints_rule(profile)
        if start.policy != profile.id:
            raise m.Refusal.one("policy", f"{start.policy!r} is not the profile given ({profile.id!r})")
        today = local_date(now)
        if start.received_date > today:
            raise m.Refusal.one("received_date", f"{start.received_date} is in the future")
        # The roles the notifications carry, whatever the case system sent.
        start = start.model_copy(
            update={
                "service_manager": start.service_manager.model_copy(update={"role": "service-manager"}),
                "scrutineer": start.scrutineer.model_copy(update={"role": "partnership"}),
            }
        )
        engine = cls(ComplaintState(start=start, last_event_on=start.received_date), profile, cal)
        received = start.received_date
        engine._log(
            now,
            received,
            "complaint-received",
            aspect=start.aspect,
            complainant_ref=start.complainant_ref,
            policy=profile.id,
        )
        ob = engine._open(SERVICE_MANAGER_RESPONSE, rule.service_manager_response_within, received)
        engine._letter(
            now,
            ob,
            "opened",
            engine.service_manager,
            "complaint about a child protection conference received",
            f"A complaint about the conference's {start.aspect} was received on {received}. "
            f"The decision made by the conference stands while it is considered. "
            f"Please record the concern, try to resolve it and respond: {engine.describe(ob)}.",
        )
        return engine

    # ------------------------------------------------------------------ people

    @property
    def service_manager(self) -> m.Person:
        return self.state.start.service_manager

    @property
    def scrutineer(self) -> m.Person:
        return self.state.start.scrutineer

    def partnership(self) -> m.Person:
        return m.Person(id=f"{self.profile.id}-safeguarding-partnership", role="partnership")

    def responsible(self, ob: Obligation, today: date | None = None) -> m.Person:
        return self.service_manager if STAGE_OF.get(ob.kind) == "service-manager" else self.scrutineer

    def escalation_to(self, ob: Obligation, level: int) -> m.Person:
        """Who is told when nothing is recorded.

        Level 1, the first working day after the due date:
        - a late service manager's response goes to the Independent Scrutineer: the next tier of
          this very procedure, independent of the service manager, and who will receive the
          complaint anyway if the complainant is left without an answer;
        - a late acknowledgement, consideration, written response or appeal step goes to the
          service manager: the partnership's officer who forwarded the matter, holds the case
          papers and is the complainant's first contact, so the one able to chase it and keep
          the complainant informed (there is no one above the scrutineer in this procedure).
        Level 2 (the profile's `escalation.second_level_after` later): the safeguarding
        partnership itself, which the seed says the outcome is reported to.
        """
        if level >= 2:
            return self.partnership()
        return self.scrutineer if STAGE_OF.get(ob.kind) == "service-manager" else self.service_manager

    # ------------------------------------------------------------------ the kernel's rules

    # A {name} message could not be applied ({error}), then:
    MESSAGE_FAILED_ADVICE = "; please check the complaint and record it again."

    @property
    def case_ref(self) -> str:
        return self.state.start.complaint_id

    @property
    def plan_id(self) -> str:
        return self.state.start.plan_id

    def heading(self) -> tuple[str, str]:
        s = self.state.start
        return (
            f"[cpplan complaint {s.complaint_id}] ",
            f"Complaint {s.complaint_id} (complainant {s.complainant_ref}) about a child protection conference, plan {s.plan_id}.",
        )

    def escalation_note(self, ob: Obligation, today: date) -> str:
        return f" (responsible: {self.responsible(ob).id})"

    def first_contact(self) -> m.Person:
        return self.service_manager

    def next_contact(self) -> m.Person:
        return self.partnership()

    def warn(self, now: datetime, kind: str, to: list[m.Person], subject: str, body: str) -> None:
        """Keys as complaints have always had them (their histories depend on them): a failed
        delivery numbered by its own counter and recorded as an escalation; an unreadable or
        failed message numbered by how many of its kind the history holds."""
        if kind == "notification-failed":
            key = f"{kind}-{self._next_number(kind)}:alert"
        else:
            key = f"{kind}:{sum(1 for h in self.state.history if h.event == kind)}"
        for person in to:
            self._notify(now, "alert", key, person, subject, body)
            if kind == "notification-failed":
                self._escalated(kind, 1, person, now)

    # ------------------------------------------------------------------ helpers

    def describe(self, ob: Obligation) -> str:
        return f"{DESCRIPTIONS.get(ob.kind, ob.kind.replace('-', ' '))} due {ob.due.isoformat()}"

    def _open(self, kind: str, within: Period, from_day: date) -> Obligation:
        ob = Obligation(
            id=kind,
            kind=kind,
            due=within.after(from_day, self.cal),
            opened_on=from_day,
            source=f"{self.rule.source}: within {within.describe()}",
        )
        self.state.obligations.append(ob)
        return ob

    def find(self, kind: str) -> Obligation | None:
        return next((o for o in self.state.obligations if o.kind == kind), None)

    def _letter(self, now: datetime, ob: Obligation, action: str, to: m.Person, subject: str, body: str) -> None:
        self._notify(now, "letter", f"{ob.id}:{action}", to, subject, f"{body}\nRule: {ob.source}", ob.id)

    def _check_active(self) -> None:
        if self.state.state != "active":
            raise m.Refusal.one(
                "(complaint)", f"the complaint was closed on {self.state.closed_on} ({self.state.close_reason})"
            )

    def _check_stage(self, *stages: str, doing: str) -> None:
        self._check_active()
        if self.state.stage not in stages:
            raise m.Refusal.one("(complaint)", f"cannot {doing}: the complaint is at the {self.state.stage} stage")

    @staticmethod
    def _check_date(field: str, day: date, today: date, not_before: date, what: str) -> None:
        if day > today:
            raise m.Refusal.one(field, f"{day} is in the future")
        if day < not_before:
            raise m.Refusal.one(field, f"{day} is before {what} ({not_before})")

    def _meet(self, kind: str, on: date, now: datetime) -> Obligation:
        ob = self.find(kind)
        assert ob is not None and ob.open
        ob.met_on = on
        self.state.last_event_on = max(self.state.last_event_on, on)
        self._log(now, on, f"{kind}-recorded", obligation_id=ob.id, status=ob.status(local_date(now)))
        return ob

    def _outstanding(self, kind: str, doing: str) -> Obligation:
        ob = self.find(kind)
        if ob is None:
            raise m.Refusal.one("(complaint)", f"cannot {doing}: nothing of the kind is outstanding")
        if not ob.open:
            raise m.Refusal.one("(complaint)", f"cannot {doing}: it was already recorded on {ob.met_on}")
        return ob

    # ------------------------------------------------------------------ time

    # ------------------------------------------------------------------ stage 1: service manager

    def record_response(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("service-manager", doing="record the service manager's response")
        ob = self._outstanding(SERVICE_MANAGER_RESPONSE, "record the service manager's response")
        self._check_date("date", msg.date, today, self.state.start.received_date, "the complaint was received")
        if not apply:
            return {}
        self._meet(SERVICE_MANAGER_RESPONSE, msg.date, now)
        self.state.responded_on = msg.date
        return {
            "met": ob.id,
            "status": ob.status(today),
            "stage": self.state.stage,
            "next": "the complainant is satisfied (close) or not (escalate_to_scrutineer)",
        }

    def escalate_to_scrutineer(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("service-manager", doing="escalate to the scrutineer")
        if self.state.responded_on is None:
            raise m.Refusal.one(
                "(complaint)",
                "cannot escalate to the scrutineer: the service manager's response is not recorded yet (record_response first)",
            )
        self._check_date("date", msg.date, today, self.state.responded_on, "the service manager's response")
        if not apply:
            return {}
        s, rule = self.state, self.rule
        s.stage, s.scrutineer_received_on = "scrutineer", msg.date
        s.last_event_on = max(s.last_event_on, msg.date)
        # 002: the written response is due within thirty working days of the scrutineer's
        # receipt (the day the matter is forwarded with the minutes, reports and actions taken).
        ack = self._open(ACKNOWLEDGEMENT, rule.acknowledge_within, msg.date)
        consider = self._open(CONSIDERATION, rule.consider_within, msg.date)
        written = self._open(WRITTEN_RESPONSE, rule.written_response_within, msg.date)
        self._log(now, msg.date, "escalated-to-scrutineer", to=self.scrutineer.id)
        self._letter(
            now,
            ack,
            "opened",
            self.scrutineer,
            "complaint about a child protection conference forwarded to you",
            f"The complainant is not satisfied with the service manager's response of {s.responded_on}; the matter "
            f"was forwarded to you on {msg.date} with the minutes, reports and record of action taken. "
            f"Due: {self.describe(ack)}; {self.describe(consider)}; {self.describe(written)}.",
        )
        return {
            "stage": s.stage,
            "acknowledgement_due": ack.due.isoformat(),
            "consideration_due": consider.due.isoformat(),
            "written_response_due": written.due.isoformat(),
        }

    # ------------------------------------------------------------------ stage 2: scrutineer

    def _scrutineer_step(
        self, raw: Any, now: datetime, apply: bool, kind: str, doing: str, after: str | None, after_words: str
    ) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("scrutineer", doing=doing)
        ob = self._outstanding(kind, doing)
        not_before, what = self.state.scrutineer_received_on, "the scrutineer received the complaint"
        if after is not None:
            previous = self.find(after)
            if previous is None or previous.met_on is None:
                raise m.Refusal.one(
                    "(complaint)", f"cannot {doing}: the {after_words} is not recorded yet; record it first"
                )
            not_before, what = previous.met_on, f"the {after_words}"
        assert not_before is not None
        self._check_date("date", msg.date, today, not_before, what)
        if not apply:
            return {}
        self._meet(kind, msg.date, now)
        result: dict[str, Any] = {"met": ob.id, "status": ob.status(today), "stage": self.state.stage}
        pending = [o for o in self.open_obligations() if STAGE_OF[o.kind] == "scrutineer"]
        if pending:
            result["next_due"] = min(o.due for o in pending).isoformat()
        return result

    def record_acknowledgement(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        return self._scrutineer_step(raw, now, apply, ACKNOWLEDGEMENT, "record the acknowledgement", None, "")

    def record_consideration(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        return self._scrutineer_step(
            raw,
            now,
            apply,
            CONSIDERATION,
            "record the consideration of the documents",
            ACKNOWLEDGEMENT,
            "acknowledgement",
        )

    def record_written_response(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        result = self._scrutineer_step(
            raw,
            now,
            apply,
            WRITTEN_RESPONSE,
            "record the written response",
            CONSIDERATION,
            "consideration of the documents",
        )
        if apply:
            result["next"] = "the complainant is satisfied (close) or appeals in writing (request_appeal)"
        return result

    # ------------------------------------------------------------------ stage 3: appeal

    def request_appeal(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("scrutineer", doing="request an appeal")
        written = self.find(WRITTEN_RESPONSE)
        if written is None or written.met_on is None:
            raise m.Refusal.one(
                "(complaint)", "cannot request an appeal: the scrutineer's written response is not recorded yet"
            )
        self._check_date("date", msg.date, today, written.met_on, "the scrutineer's written response")
        if not apply:
            return {}
        s = self.state
        s.stage, s.appeal_requested_on = "appeal", msg.date
        s.last_event_on = max(s.last_event_on, msg.date)
        # 002: the subcommittee meets within twenty working days of receipt of the written notification.
        meeting = self._open(APPEAL_MEETING, self.rule.appeal_meets_within, msg.date)
        self._log(now, msg.date, "appeal-requested", obligation_id=meeting.id)
        self._letter(
            now,
            meeting,
            "opened",
            self.scrutineer,
            "appeal against the response to a conference complaint",
            f"The complainant told you in writing on {msg.date} that they are dissatisfied with the outcome. "
            f"An independent person considers whether there are grounds; if so the appeal subcommittee is convened: "
            f"{self.describe(meeting)}.",
        )
        return {"stage": s.stage, "appeal_meeting_due": meeting.due.isoformat()}

    def record_appeal_meeting(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("appeal", doing="record the appeal meeting")
        ob = self._outstanding(APPEAL_MEETING, "record the appeal meeting")
        assert self.state.appeal_requested_on is not None
        self._check_date("date", msg.date, today, self.state.appeal_requested_on, "the appeal was requested")
        if not apply:
            return {}
        self._meet(APPEAL_MEETING, msg.date, now)
        # 002: the complainant is advised of the outcome within a further five working days.
        outcome = self._open(APPEAL_OUTCOME, self.rule.appeal_outcome_within, msg.date)
        return {
            "met": ob.id,
            "status": ob.status(today),
            "stage": self.state.stage,
            "appeal_outcome_due": outcome.due.isoformat(),
        }

    def record_appeal_outcome(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: Dated = m.parse(Dated, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_stage("appeal", doing="record the appeal outcome")
        meeting = self.find(APPEAL_MEETING)
        if meeting is None or meeting.met_on is None:
            raise m.Refusal.one(
                "(complaint)", "cannot record the appeal outcome: the appeal meeting is not recorded yet"
            )
        ob = self._outstanding(APPEAL_OUTCOME, "record the appeal outcome")
        self._check_date("date", msg.date, today, meeting.met_on, "the appeal meeting")
        if not apply:
            return {}
        self._meet(APPEAL_OUTCOME, msg.date, now)
        # 002: the subcommittee reports the outcome to the safeguarding partnership. This is the
        # end of the appeal procedure; the complainant may still go to the Local Government Ombudsman.
        self._letter(
            now,
            ob,
            "reported",
            self.partnership(),
            "outcome of a conference complaint appeal",
            f"The appeal subcommittee met on {meeting.met_on}; the complainant was advised of the outcome on {msg.date}. "
            f"This is the end of the appeal procedure; the complainant may refer to the Local Government Ombudsman.",
        )
        self._close(now, msg.date, "appeal procedure ended")
        return {
            "met": ob.id,
            "status": ob.status(today),
            "state": "closed",
            "beyond": "the complainant may refer to the Local Government Ombudsman",
        }

    # ------------------------------------------------------------------ closing

    def close(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        """The complainant is satisfied (after a response), withdraws, or no grounds for an
        appeal were found: the complaint ends and every open clock with it."""
        msg: CloseComplaint = m.parse(CloseComplaint, raw, any_year=self.any_year)
        today = local_date(now)
        self._check_active()
        self._check_date("date", msg.date, today, self.state.last_event_on, "the last thing recorded on the complaint")
        if not apply:
            return {}
        written = self.find(WRITTEN_RESPONSE)
        if self.state.stage == "service-manager" and self.state.responded_on:
            reason = "resolved after the service manager's response"
        elif self.state.stage == "scrutineer" and written is not None and not written.open:
            reason = "resolved after the scrutineer's written response"
        else:
            reason = f"closed at the {self.state.stage} stage"
        self._close(now, msg.date, reason, reason_ref=msg.reason_ref)
        return {"state": "closed", "stage": self.state.stage, "reason": reason}

    def _close(self, now: datetime, on: date, reason: str, reason_ref: str | None = None) -> None:
        s = self.state
        closed = [o.id for o in s.obligations if o.open]
        s.obligations = [o for o in s.obligations if not o.open]
        s.state, s.closed_on, s.close_reason, s.close_reason_ref = "closed", on, reason, reason_ref
        s.last_event_on = max(s.last_event_on, on)
        self._log(
            now, on, "complaint-closed", stage=s.stage, reason=reason, reason_ref=reason_ref, closed=closed or None
        )

    @property
    def finished(self) -> bool:
        return self.state.state == "closed"

    # ------------------------------------------------------------------ status

    def status(self, now: datetime) -> ComplaintStatus:
        today = local_date(now)
        s = self.state
        return ComplaintStatus(
            complaint_id=s.start.complaint_id,
            plan_id=s.start.plan_id,
            policy=self.profile.id,
            complainant_ref=s.start.complainant_ref,
            aspect=s.start.aspect,
            received_date=s.start.received_date,
            service_manager=self.service_manager.id,
            scrutineer=self.scrutineer.id,
            stage=s.stage,
            state=s.state,
            closed_on=s.closed_on,
            close_reason=s.close_reason,
            obligations=[self._obligation_view(o, today, responsible=self.responsible(o).id) for o in s.obligations],
            overdue_count=self._overdue_count(today),
            escalations=self._escalation_views(),
            next_due=self._next_due(),
            waiting_for=self.waiting_for(now),
            history=self._history_views(),
        )

    def waiting_for(self, now: datetime) -> str:
        """Words for the Temporal UI and the status: what the complaint waits for next."""
        s = self.state
        if s.state == "closed":
            return "nothing: closed"
        pending = sorted((o for o in s.obligations if o.open), key=lambda o: (o.due, o.id))
        if pending:
            return "; ".join(self.describe(o) for o in pending)
        if s.stage == "service-manager":
            return "the complainant: satisfied (close) or not (escalate_to_scrutineer)"
        return "the complainant: satisfied (close) or appeals in writing (request_appeal)"
