"""A practitioner's due dates as an iCalendar feed (RFC 5545, the `icalendar` package), from the
read model.

Each event is one open obligation: of every plan the person leads as lead social worker, and,
for a team manager, the decisions of their team's plans (an early review to authorise or
decline). An event is all day on the due date; its description gives the date to hold it by
where the due date is not a working day; an alarm rings at 09:00 on the working day before.
Opaque references only: the plan and obligation ids and the kind of task, never a name.

UIDs are stable (`{plan_id}-{obligation_id}@cpplan`), so a calendar that refreshes the feed
moves an event whose date changed rather than adding another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from icalendar import Alarm, Calendar, Event

from activities.db import get_engine, plans
from activities.read_model import OPEN_STATUSES, still_owing
from workflows.calendar import LONDON, profile_calendar
from workflows.obligations import DESCRIPTIONS
from workflows.policy import get_profile

# Obligations that are a manager's to decide (workflows/plan_rules/incidents.py).
DECISION_KINDS = ("early-review-decision",)
ALARM_AT = time(9, 0)


@dataclass(frozen=True)
class DueDate:
    plan_id: str
    obligation_id: str
    kind: str
    due: date
    hold_by: date | None
    status: str
    policy: str
    updated_at: datetime


def due_dates(person: str, *, manager: bool) -> list[DueDate]:
    """Open obligations of the plans `person` leads, and for a manager the decisions of the
    plans of their team; earliest first."""
    query = sa.select(plans.c.plan_id, plans.c.policy, plans.c.lead_ref, plans.c.status_json, plans.c.updated_at)
    who = plans.c.lead_ref == person
    if manager:
        who = sa.or_(who, plans.c.team_ref == person)
    with get_engine().connect() as conn:
        rows = conn.execute(query.where(who, still_owing())).all()
    found: list[DueDate] = []
    for row in rows:
        try:
            status: dict[str, Any] = json.loads(row.status_json)
        except ValueError:
            continue
        leads = row.lead_ref == person
        for ob in status.get("obligations") or []:
            if ob.get("status") not in OPEN_STATUSES:
                continue
            if not leads and ob.get("kind") not in DECISION_KINDS:
                continue
            found.append(
                DueDate(
                    plan_id=row.plan_id,
                    obligation_id=str(ob["id"]),
                    kind=str(ob["kind"]),
                    due=date.fromisoformat(str(ob["due"])),
                    hold_by=date.fromisoformat(str(ob["hold_by"])) if ob.get("hold_by") else None,
                    status=str(ob["status"]),
                    policy=row.policy,
                    updated_at=row.updated_at,
                )
            )
    found.sort(key=lambda d: (d.due, d.plan_id, d.obligation_id))
    return found


def _working_day_before(item: DueDate, calendars: dict[str, Any]) -> date:
    if item.policy not in calendars:
        try:
            profile = get_profile(item.policy)
            calendars[item.policy] = profile_calendar(profile, item.due.year - 1, item.due.year + 1)
        except ValueError:  # PolicyError among them: a profile since removed
            calendars[item.policy] = None
    cal = calendars[item.policy]
    if cal is None:
        return item.due - timedelta(days=1)
    return cal.add_working_days(item.due, -1)


def to_ics(person: str, items: list[DueDate], now: datetime | None = None) -> bytes:
    stamp = now or datetime.now(UTC)
    cal = Calendar()
    cal.add("prodid", "-//cpplan//due dates//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"cpplan: {person}")
    calendars: dict[str, Any] = {}
    for item in items:
        words = DESCRIPTIONS.get(item.kind, item.kind.replace("-", " "))
        event = Event()
        event.add("uid", f"{item.plan_id}-{item.obligation_id}@cpplan")
        event.add("dtstamp", stamp)
        event.add("last-modified", item.updated_at.astimezone(UTC))
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("summary", f"{words}: plan {item.plan_id}")
        lines = [f"Plan {item.plan_id}, {item.obligation_id}: {words}.", f"Due {item.due.isoformat()}."]
        if item.hold_by and item.hold_by != item.due:
            lines.append(f"Hold by {item.hold_by.isoformat()} (the due date is not a working day).")
        if item.status != "pending":
            lines.append(f"Status: {item.status}.")
        event.add("description", " ".join(lines))
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Due on the next working day: {words}, plan {item.plan_id}")
        ring = datetime.combine(_working_day_before(item, calendars), ALARM_AT, tzinfo=LONDON).astimezone(UTC)
        alarm.add("trigger", ring, parameters={"VALUE": "DATE-TIME"})  # an absolute moment (RFC 5545 3.8.6.3)
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
