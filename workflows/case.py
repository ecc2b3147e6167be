"""What every case workflow's rules have, whatever the case: a plan, a complaint.

A case is a set of obligations (one due date each), the reminders and escalations that follow
from them (procedures.md, "Events that must reach people"), what was recorded (history), who
was told (escalations) and what is waiting to be sent (the outbox, each notification under an
idempotency key built from business ids). `CaseEngine` keeps all of that once; each kind of
case (`workflows.engine.PlanEngine`, `workflows.complaint_rules.ComplaintEngine`) supplies its
rules: who is responsible for an obligation, who is told at each escalation level, and the
words of its messages.

Pure and deterministic: no clock of its own (every call is given `now`), no I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_date
from workflows.obligations import Action, Obligation
from workflows.policy import Profile
from workflows.status import EscalationView, HistoryView, NextDue, ObligationStatus

# Warnings of unreadable messages a case sends a day; more are only recorded.
UNREADABLE_WARNINGS_A_DAY = 5
# Unreadable messages kept one by one in the history each day; past it they are counted. A
# client sending a bad message in a loop must not grow the state a plan carries from run to run
# (continue-as-new) without end: that state must stay far below the server's payload limit.
UNREADABLE_KEPT_A_DAY = 20


class Escalation(BaseModel):
    kind: str
    level: int
    to: str
    at: datetime
    obligation_id: str | None = None


class HistoryEntry(BaseModel):
    at: datetime
    on: date | None = None
    event: str
    detail: dict[str, Any] = Field(default_factory=dict)


# Transports a notification can go by (activities/channels.py): SMTP and GOV.UK Notify.
ChannelName = Literal["smtp", "notify"]


class Notification(BaseModel):
    """One message in the outbox. It says what it is (`kind`, `topic`, `urgent`) and who to, by
    every means the plan knows (`to_email`, `to_mobile`); the worker's configured channels decide
    how it goes. Fields after `created_at` were added later: their defaults are what a
    notification left in the outbox by an earlier release means."""

    key: str
    plan_id: str
    kind: Literal["reminder", "escalation", "letter", "alert"]
    to_id: str
    to_role: str
    to_email: str | None = None
    subject: str
    body: str
    obligation_id: str | None = None
    created_at: datetime
    # What it is about, for the channel's template: the alert's kind (missing, no-access, ...),
    # or the notification's own kind.
    topic: str | None = None
    # A missing child, action with the police: a text message too, to a person with a mobile.
    urgent: bool = False
    to_mobile: str | None = None
    # Channels not to use when another is configured: a warning that a message was not
    # delivered goes by the other channel where there is one.
    avoid: list[ChannelName] = Field(default_factory=list)


class CaseState(Protocol):
    """The parts of a case's state the kernel works on (PlanState, ComplaintState)."""

    counters: dict[str, int]
    obligations: list[Obligation]
    escalations: list[Escalation]
    history: list[HistoryEntry]
    outbox: list[Notification]


class CaseEngine:
    """The kernel of a case's rules. Subclasses supply the methods under "the case's rules"."""

    state: Any  # a CaseState; each subclass narrows it to its own model
    profile: Profile
    cal: WorkingCalendar

    # ------------------------------------------------------------------ the case's rules

    # What follows "A {name} message could not be applied ({error})" in the warning sent.
    MESSAGE_FAILED_ADVICE = "."

    @property
    def case_ref(self) -> str:
        """The business id every idempotency key starts with."""
        raise NotImplementedError

    @property
    def plan_id(self) -> str:
        """The plan the case is about (every notification carries it)."""
        raise NotImplementedError

    def heading(self) -> tuple[str, str]:
        """What starts every notification's subject, and its body's first line."""
        raise NotImplementedError

    def describe(self, ob: Obligation) -> str:
        """An obligation in the words people are sent."""
        raise NotImplementedError

    def responsible(self, ob: Obligation, today: date) -> m.Person:
        """Who is reminded of an obligation before it is due."""
        raise NotImplementedError

    def escalation_to(self, ob: Obligation, level: int) -> m.Person:
        """Who is told when nothing is recorded: level 1, then level 2."""
        raise NotImplementedError

    def first_contact(self) -> m.Person:
        """Who hears of a fault: a message that failed, a notification that was not delivered."""
        raise NotImplementedError

    def next_contact(self) -> m.Person:
        """Who hears of an undeliverable notification to the first contact."""
        raise NotImplementedError

    def told_of_unreadable(self, today: date) -> list[m.Person]:
        """Who is asked to send an unreadable message again."""
        return [self.first_contact()]

    def warn(self, now: datetime, kind: str, to: list[m.Person], subject: str, body: str) -> None:
        """Tell people of something that went wrong (`kind`: unreadable-message, message-failed,
        notification-failed), under the case's own idempotency keys."""
        raise NotImplementedError

    def escalation_note(self, ob: Obligation, today: date) -> str:
        """Words added after the obligation in an escalation's body."""
        return ""

    def next_action(self, ob: Obligation) -> tuple[datetime, Action] | None:
        return ob.next_action(self.profile, self.cal)

    def other_wakeups(self) -> list[datetime]:
        """Clocks of the case that are not obligations' (a missing child's hours)."""
        return []

    def fire_others(self, now: datetime) -> int:
        """Act on those clocks when they fall due; returns how many notifications were sent."""
        return 0

    # ------------------------------------------------------------------ records

    def _next_number(self, kind: str) -> int:
        self.state.counters[kind] = self.state.counters.get(kind, 0) + 1
        return self.state.counters[kind]

    def _log(self, now: datetime, on: date | None, event: str, **detail: Any) -> None:
        self.state.history.append(
            HistoryEntry(at=now, on=on, event=event, detail={k: v for k, v in detail.items() if v is not None})
        )

    def _notify(
        self,
        now: datetime,
        kind: str,
        key: str,
        to: m.Person,
        subject: str,
        body: str,
        obligation_id: str | None = None,
        *,
        topic: str | None = None,
        urgent: bool = False,
        avoid: list[ChannelName] | None = None,
    ) -> None:
        """Leave a notification in the outbox under `{case}:{key}:{person}`; the same key twice
        is one notification (a retried message or a replayed timer sends nothing new)."""
        key = f"{self.case_ref}:{key}:{to.id}"
        if any(n.key == key for n in self.state.outbox):
            return
        subject_prefix, intro = self.heading()
        self.state.outbox.append(
            Notification(
                key=key,
                plan_id=self.plan_id,
                kind=kind,  # type: ignore[arg-type]
                to_id=to.id,
                to_role=to.role,
                to_email=to.email,
                subject=f"{subject_prefix}{subject}",
                body=f"{intro}\n{body}",
                obligation_id=obligation_id,
                created_at=now,
                topic=topic or kind,
                urgent=urgent,
                to_mobile=to.mobile,
                avoid=list(avoid or []),
            )
        )

    def _escalated(self, kind: str, level: int, to: m.Person, now: datetime, obligation_id: str | None = None) -> None:
        self.state.escalations.append(Escalation(kind=kind, level=level, to=to.id, at=now, obligation_id=obligation_id))

    def open_obligations(self, kind: str | None = None) -> list[Obligation]:
        return [o for o in self.state.obligations if o.open and (kind is None or o.kind == kind)]

    # ------------------------------------------------------------------ time

    def next_wakeup(self) -> datetime | None:
        # A met obligation has no next action (`Obligation.next_action`): not asked.
        times = [a[0] for o in self.state.obligations if o.open and (a := self.next_action(o))]
        times += self.other_wakeups()
        return min(times) if times else None

    def fire(self, now: datetime) -> int:
        """Send every reminder and escalation that has fallen due by `now`. Returns how many."""
        fired = 0
        today = local_date(now)
        for ob in list(self.state.obligations):
            while ob.open and (action := self.next_action(ob)) and action[0] <= now:
                fired += self._act(ob, action[1], now, today)
        return fired + self.fire_others(now)

    def _act(self, ob: Obligation, action: str, now: datetime, today: date) -> int:
        rule = f"Rule: {ob.source}" if ob.source else ""
        if action == "reminder":
            ob.reminded = True
            if today > ob.due:
                return 0  # opened after its due date (recorded late): straight to escalation
            to = self.responsible(ob, today)
            words = self.describe(ob)
            self._notify(
                now, "reminder", f"{ob.id}:reminder", to, f"reminder: {words}", f"Reminder: {words}.\n{rule}", ob.id
            )
            self._log(now, today, "reminder", obligation_id=ob.id, to=to.id)
            return 1
        if action == "overdue":
            ob.overdue_noted = True
            return 0
        level = 1 if action == "escalation-1" else 2
        to = self.escalation_to(ob, level)
        ob.escalation_level, ob.escalated_on = level, today
        words = self.describe(ob)
        self._notify(
            now,
            "escalation",
            f"{ob.id}:escalation-{level}",
            to,
            f"overdue: {words}",
            f"Nothing has been recorded for: {words}{self.escalation_note(ob, today)}. "
            f"Escalated to you (level {level}).\n{rule}",
            ob.id,
        )
        self._escalated("overdue", level, to, now, ob.id)
        self._log(now, today, "escalation", obligation_id=ob.id, level=level, to=to.id)
        return 1

    # ------------------------------------------------------------------ faults

    def delivery_failed(self, key: str, to_id: str, reason: str, now: datetime) -> None:
        """A notification that retrying cannot deliver (an address refused): a person is told."""
        self._log(now, local_date(now), "notification-failed", key=key, to=to_id, reason=reason[:200])
        if ":notification-failed-" in key:
            return  # the warning itself could not be delivered: recorded, not chased in a loop
        first = self.first_contact()
        to = first if to_id != first.id else self.next_contact()
        self.warn(
            now,
            "notification-failed",
            [to],
            f"a notification to {to_id} could not be delivered",
            f"Notification {key} to {to_id} could not be delivered: {reason[:200]}. Please contact them another way.",
        )

    def limits_warnings(self) -> bool:
        """Whether unreadable messages past UNREADABLE_WARNINGS_A_DAY are recorded without a
        warning each (a rule newer than some running plans: see PlanEngine)."""
        return True

    def bounds_unreadable(self) -> bool:
        """Whether unreadable messages past UNREADABLE_KEPT_A_DAY in a day are counted rather
        than each kept in the history (a rule newer than some running plans: see PlanEngine)."""
        return True

    def unreadable(self, now: datetime, name: str, reason: str, fields: Any = None) -> None:
        """A message that could not be read (no payload, a payload the worker could not open, or
        one a report cannot take): kept in the history by name and reason, never its content,
        and the people who must act are told, so that it is sent again. Past
        UNREADABLE_KEPT_A_DAY in a day, one entry says that the rest of the day's are counted
        (in the state's `counters`), not kept one by one."""
        today = local_date(now)
        received = self._next_number(f"unreadable-{today.isoformat()}") if self.bounds_unreadable() else 0
        if received <= UNREADABLE_KEPT_A_DAY:
            self._log(now, today, "unreadable-message", message=name, reason=reason, fields=fields)
        elif received == UNREADABLE_KEPT_A_DAY + 1:
            self._log(now, today, "unreadable-messages-counted", kept=UNREADABLE_KEPT_A_DAY)
        # A client sending the same bad message in a loop must not bury the managers in alerts:
        # a few a day, the last saying that more are only recorded (the history keeps each one).
        warned = self._next_number(f"unreadable-warned-{today.isoformat()}") if self.limits_warnings() else 0
        if warned > UNREADABLE_WARNINGS_A_DAY:
            return
        more = (
            " More unreadable messages today are recorded on the plan without a warning each."
            if warned == UNREADABLE_WARNINGS_A_DAY
            else ""
        )
        self.warn(
            now,
            "unreadable-message",
            self.told_of_unreadable(today),
            f"a {name} message could not be read",
            f"A {name} message was received but could not be read: {reason}. Please send it again.{more}",
        )

    def message_failed(self, now: datetime, name: str, error: str) -> None:
        """A message whose rule failed unexpectedly: recorded and a person told; the case
        carries on with its clocks."""
        self._log(now, local_date(now), "message-failed", message=name, error=error)
        self.warn(
            now,
            "message-failed",
            [self.first_contact()],
            f"a {name} message could not be applied",
            f"A {name} message could not be applied ({error}){self.MESSAGE_FAILED_ADVICE}",
        )

    # ------------------------------------------------------------------ status

    def _pending(self) -> list[Obligation]:
        return sorted((o for o in self.state.obligations if o.open), key=lambda o: (o.due, o.id))

    def _obligation_view(self, ob: Obligation, today: date, **extra: Any) -> ObligationStatus:
        return ObligationStatus(
            id=ob.id,
            kind=ob.kind,
            due=ob.due,
            status=ob.status(today),
            met_on=ob.met_on,
            description=self.describe(ob),
            rule=ob.source,
            **extra,
        )

    def _overdue_count(self, today: date) -> int:
        return sum(1 for o in self._pending() if o.status(today) in ("overdue", "escalated"))

    def _escalation_views(self) -> list[EscalationView]:
        return [
            EscalationView(kind=e.kind, level=e.level, to=e.to, at=e.at, obligation_id=e.obligation_id)
            for e in self.state.escalations
        ]

    def _next_due(self) -> NextDue | None:
        pending = self._pending()
        if not pending:
            return None
        nxt = pending[0]
        return NextDue(id=nxt.id, kind=nxt.kind, due=nxt.due, description=self.describe(nxt))

    def _history_views(self) -> list[HistoryView]:
        return [HistoryView.of(h) for h in self.state.history]
