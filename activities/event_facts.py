"""The facts a case system records about a plan, read from its saved status, each as a CloudEvent
(docs/contract.md, "Events out").

A plan's status says what is true of it now: started, which obligations are overdue or met, whom
it was escalated to, how many reviews were held, whether it ended, which messages could not be
read. `facts` lists those truths, each under a key made of business ids
(`{plan_id}:{obligation_id}:overdue`); what a save learns is the facts of the new status less
those of the status saved before it (`new_facts`). The key makes the event's id, so a save
retried, or a fact seen again, is the same event, never a second one. The types, and the shape
of each type's data, are declared in activities/event_types.py.

Data carries opaque references (the case system's ids), codes and dates only: never a name, an
address or anything a practitioner typed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from activities.db import as_utc
from activities.event_types import (
    MESSAGE_UNREADABLE,
    OBLIGATION_MET,
    OBLIGATION_OVERDUE,
    PLAN_ENDED,
    PLAN_ESCALATED,
    PLAN_STARTED,
    REVIEW_HELD,
)
from workflows.calendar import local_date

DEFAULT_SOURCE = "urn:cpplan"
CONTENT_TYPE = "application/cloudevents+json"  # structured mode: the whole event is the body
DATA_CONTENT_TYPE = "application/json"
EVENT_ID_PATTERN = r"^evt_[0-9a-f]{32}$"  # what `event_id` makes


@dataclass(frozen=True)
class Fact:
    key: str  # business ids: the same fact always has the same key
    type: str
    time: datetime  # when it happened, on the plan's clock
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        return event_id(self.key)


def event_id(key: str) -> str:
    """The CloudEvent `id` and `webhook-id` of a fact: a digest of its key, so it is stable and
    carries no character a header could not (a plan id is the case system's own text)."""
    return "evt_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def events_source() -> str:
    """The CloudEvent `source`: `CPPLAN_EVENTS_SOURCE` (a URI naming this service), default
    `urn:cpplan`."""
    return os.environ.get("CPPLAN_EVENTS_SOURCE", "").strip() or DEFAULT_SOURCE


def _day(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _present(**data: Any) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def _obligation_facts(plan_id: str, status: Mapping[str, Any], at: datetime) -> list[Fact]:
    today = local_date(at)
    found = []
    for ob in status.get("obligations") or []:
        ob_id, state = str(ob["id"]), str(ob["status"])
        due = _day(ob["due"])
        about = _present(
            plan_id=plan_id, obligation_id=ob_id, kind=ob.get("kind"), due=due, member_id=ob.get("member_id")
        )
        # Escalated without ever being seen overdue (a backdated start, two not-seen visits
        # past the date): still overdue once its date has passed.
        past_due = due is not None and date.fromisoformat(due) < today
        if state == "overdue" or (state == "escalated" and past_due):
            found.append(Fact(f"{plan_id}:{ob_id}:overdue", OBLIGATION_OVERDUE, at, about))
        if state in ("met", "met-late"):
            met = {**about, "met_on": _day(ob.get("met_on")), "late": state == "met-late"}
            found.append(Fact(f"{plan_id}:{ob_id}:met", OBLIGATION_MET, at, met))
    return found


def _escalation_facts(plan_id: str, status: Mapping[str, Any]) -> list[Fact]:
    found = []
    for e in status.get("escalations") or []:
        when = as_utc(e["at"])
        about = e.get("obligation_id") or "-"
        key = f"{plan_id}:escalation:{e['kind']}:{e['level']}:{about}:{when.isoformat()}"
        data = _present(
            plan_id=plan_id,
            kind=str(e["kind"]),
            level=int(e["level"]),
            to=str(e["to"]),
            obligation_id=e.get("obligation_id"),
        )
        found.append(Fact(key, PLAN_ESCALATED, when, data))
    return found


def _review_facts(plan_id: str, status: Mapping[str, Any], at: datetime) -> list[Fact]:
    """One per review conference held (`reviews_held`), each with its record in the history
    when the history has it (an inquorate conference is not a review held)."""
    held = int(status.get("reviews_held") or 0)
    records = [
        h
        for h in status.get("history") or []
        if h.get("event") == "review-conference" and h.get("outcome") != "inquorate"
    ]
    found = []
    for number in range(1, held + 1):
        index = len(records) - (held - number) - 1
        record = records[index] if 0 <= index < len(records) else {}
        data = _present(
            plan_id=plan_id,
            number=number,
            held_on=_day(record.get("on")),
            outcome=record.get("outcome"),
            obligation_id=record.get("obligation_id"),
        )
        when = as_utc(record["at"]) if record.get("at") else at
        found.append(Fact(f"{plan_id}:review:{number}", REVIEW_HELD, when, data))
    return found


def _unreadable_facts(plan_id: str, status: Mapping[str, Any]) -> list[Fact]:
    """Each unreadable message the history keeps (past 20 in a day the plan only counts them,
    and so do the events). Only the message's name: never its reason's detail or content."""
    found = []
    seen: dict[tuple[str, str], int] = {}
    for h in status.get("history") or []:
        # The record names the message; the entry beside it saying who was told does not.
        if h.get("event") != "unreadable-message" or not h.get("message"):
            continue
        when = as_utc(h["at"])
        message = str(h["message"])
        ordinal = seen[(when.isoformat(), message)] = seen.get((when.isoformat(), message), 0) + 1
        data = _present(plan_id=plan_id, message=message, received_on=_day(h.get("on")))
        found.append(
            Fact(f"{plan_id}:unreadable:{when.isoformat()}:{message}:{ordinal}", MESSAGE_UNREADABLE, when, data)
        )
    return found


def facts(plan_id: str, status: Mapping[str, Any], at: datetime) -> list[Fact]:
    """Everything the status says has happened to the plan, as facts dated `at` (the status's
    time) unless the status dates them itself. Raises KeyError, TypeError or ValueError for a
    status that is not the contract's."""
    at = as_utc(at)
    found = [
        Fact(
            f"{plan_id}:started",
            PLAN_STARTED,
            at,
            _present(
                plan_id=plan_id,
                child_ref=status.get("child_ref"),
                policy=status.get("policy"),
                conference_kind=status.get("conference_kind"),
                icpc_date=_day(status.get("icpc_date")),
                lead_social_worker=status.get("lead_social_worker"),
                team_manager=status.get("team_manager"),
            ),
        )
    ]
    found += _obligation_facts(plan_id, status, at)
    found += _escalation_facts(plan_id, status)
    found += _review_facts(plan_id, status, at)
    found += _unreadable_facts(plan_id, status)
    if status.get("state") == "ended":
        data = _present(plan_id=plan_id, ended_on=_day(status.get("ended_on")), end_reason=status.get("end_reason"))
        found.append(Fact(f"{plan_id}:ended", PLAN_ENDED, at, data))
    return found


def new_facts(plan_id: str, previous: Mapping[str, Any] | None, status: Mapping[str, Any], at: datetime) -> list[Fact]:
    """What the new status says that the one saved before it did not (all of it for a plan's
    first save). A plan saved before events were recorded tells only what happens from then on."""
    known = {f.key for f in facts(plan_id, previous, at)} if previous is not None else set()
    return [f for f in facts(plan_id, status, at) if f.key not in known]


def cloud_event(plan_id: str, fact: Fact, source: str | None = None) -> str:
    """The fact as a structured-mode CloudEvent (JSON), `subject` the plan id."""
    event = CloudEvent(
        {
            "id": fact.event_id,
            "source": source or events_source(),
            "type": fact.type,
            "subject": plan_id,
            "time": fact.time,
            "datacontenttype": DATA_CONTENT_TYPE,
        },
        fact.data,
    )
    return to_structured_event(event).body.decode("utf-8")
