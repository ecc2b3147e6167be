"""A notification that never reached its person: *not told*.

Sending a message is not telling someone. GOV.UK Notify reports per message whether it was
delivered (its delivery receipt), and the worker asks after messages with no receipt past a
limit (activities/receipts.py). A permanent or technical failure, or no delivery in time, comes
to the plan as the `record_delivery_failure` report: the plan records the message as not
delivered, and the next person up is told at once (lead social worker, then team manager, then
service manager), through the other channel where there is one. Procedures.md, "Events that
must reach people": every event there must reach a person, so one that did not is itself an
event a person must hear of.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from workflows import models as m
from workflows.message_spec import signal
from workflows.plan_rules.base import URGENT_ALERTS, PlanRules

# An outbox key: `{plan_id}:{what}:{person_id}`, opaque references joined by colons.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,499}$"
# GOV.UK Notify's final statuses that mean the message was not delivered, and ours for a message
# with no receipt within the limit.
FAILURES = ("permanent-failure", "temporary-failure", "technical-failure", "no-receipt")


class RecordDeliveryFailure(m.Message):
    """A notification of this plan that was not delivered."""

    key: Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
    to: m.Ref
    channel: Literal["notify", "smtp"] = "notify"
    medium: Literal["email", "sms"] = "email"
    status: Literal[FAILURES]  # type: ignore[valid-type]
    date: m.Day


RECORD_DELIVERY_FAILURE = signal(
    "record_delivery_failure",
    RecordDeliveryFailure,
    "a notification was not delivered (a delivery receipt): the next person up is told",
)

# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (RECORD_DELIVERY_FAILURE,)


class DeliveryRules(PlanRules):
    """record_delivery_failure."""

    def record_delivery_failure(self, raw: Any, now: datetime) -> None:
        try:
            msg: RecordDeliveryFailure = self._parse_report(RECORD_DELIVERY_FAILURE, raw, now)
            what = self._what_was_sent(msg)
        except m.Refusal as err:
            self._unreadable(now, RECORD_DELIVERY_FAILURE.name, raw, err)
            return
        if any(
            h.event == "notification-not-delivered"
            and h.detail.get("key") == msg.key
            and h.detail.get("medium") == msg.medium
            for h in self.state.history
        ):
            return  # a receipt sent again: the plan has it, and the next person up was told
        nxt = self._next_up(msg.to, msg.date)
        self._log(
            now,
            msg.date,
            "notification-not-delivered",
            key=msg.key,
            to=msg.to,
            channel=msg.channel,
            medium=msg.medium,
            status=msg.status,
            told=nxt.id if nxt else None,
        )
        if nxt is None:
            return  # nobody above them on the plan: recorded, and shown as not delivered
        by = "text message" if msg.medium == "sms" else "e-mail"
        self._alert(
            now,
            "not-told",
            [nxt],
            f"{msg.to} was not told: a notification was not delivered",
            f"A notification to {msg.to} ({what}, by {by}) was not delivered ({msg.status}). "
            f"They have not been told: please reach them another way. Notification {msg.key}.",
            avoid=[msg.channel],
            urgent=what in URGENT_ALERTS,
        )

    def _what_was_sent(self, msg: RecordDeliveryFailure) -> str:
        """The middle of the key (`missing-1`, `review-conference-1:reminder`), checked to be a
        notification of this plan to that person."""
        prefix, suffix = f"{self.plan_id}:", f":{msg.to}"
        if not (msg.key.startswith(prefix) and msg.key.endswith(suffix)) or len(msg.key) <= len(prefix + suffix):
            raise m.Refusal.one("key", "is not a notification of this plan to that person")
        middle = msg.key[len(prefix) : -len(suffix)]
        alert = middle.rsplit("-", 1)[0]
        return alert if alert in URGENT_ALERTS else middle

    def _next_up(self, to_id: str, day: Any) -> m.Person | None:
        """Lead social worker, then team manager, then service manager (or the senior manager
        where there is none); anyone else on the plan is the lead social worker's to reach."""
        s = self.state.start
        lead = self.lead_social_worker(day)
        chain = [lead, s.team_manager, *[p for p in (s.service_manager, s.senior_manager) if p]]
        ids = [p.id for p in chain]
        if to_id in (lead.id, s.lead_social_worker.id):
            place = 0
        elif to_id in ids:
            place = ids.index(to_id)
        else:
            return lead
        for person in chain[place + 1 :]:
            if person.id != to_id:
                return person
        return None
