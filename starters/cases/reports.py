"""A report checked against the plan before it is sent: the workflow cannot refuse a signal
(it keeps what it cannot use as an unreadable message and tells people), so what it would keep
so is refused here, by the command line and the HTTP API alike."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from starters.cases.entitlement import CAPACITY, check_entitled, entitled_ids, reports_take_by
from starters.cases.errors import ClientError
from workflows import models as m
from workflows.calendar import local_date
from workflows.status import PlanStatus


def today_in_london() -> date:
    return local_date(datetime.now(UTC))


def check_report(name: str, payload: dict[str, Any], status: PlanStatus) -> dict[str, Any]:
    """A report against the plan, before it is sent: the workflow cannot refuse a signal (it
    keeps what it cannot use as an unreadable message and tells people), so what would be kept
    so is refused here. Its date not in the future (London's today) nor before the plan's
    conference; its `by`, where it has one, entitled to send it on this plan (a manager's
    report, `escalate`, always has one); an escalation to a manager, not oneself. Returns the
    payload to send."""
    if "date" in payload:
        check_report_date(payload["date"], status)
    if name == "record_delivery_failure":
        check_delivery_key(payload, status)
    if payload.get("by") is not None or CAPACITY[name] != "practitioner":
        check_entitled(name, payload.get("by"), status)
    if name == "escalate":
        check_escalation_to(str(payload.get("to")), payload.get("by"), status)
    if CAPACITY[name] == "practitioner" and not reports_take_by(status):
        # Checked, but not sent: this plan's run would keep the report as unreadable.
        return {k: v for k, v in payload.items() if k != "by"}
    return payload


def check_escalation_to(to: str, by: str | None, status: PlanStatus) -> None:
    """To one of the plan's managers, or a manager of the organisation's directory
    (`CPPLAN_STAFF_FILE`, starters/staff.py); never to the one escalating."""
    from starters import staff

    if to == by:
        raise m.Refusal.one("to", "is who escalates: an escalation goes to someone else; nothing was sent")
    managers = entitled_ids(status, "manager") or []
    if to in managers:
        return
    try:
        listed = staff.is_manager(to)
    except staff.StaffFileError as err:
        raise ClientError(str(err)) from None
    if not listed:
        directory = os.environ.get(staff.STAFF_FILE_ENV)
        where = (
            " nor a manager in the staff directory"
            if directory
            else ", and no staff directory is set (CPPLAN_STAFF_FILE)"
        )
        raise m.Refusal.one(
            "to", f"{to!r} is not one of this plan's managers ({', '.join(managers)}){where}; nothing was sent"
        )


def check_delivery_key(payload: dict[str, Any], status: PlanStatus) -> None:
    """A notification of this plan, to that person: `{plan_id}:{what}:{to}`."""
    key, to, plan_id = str(payload.get("key", "")), str(payload.get("to", "")), status.plan_id
    if not (key.startswith(f"{plan_id}:") and key.endswith(f":{to}")) or len(key) <= len(plan_id) + len(to) + 2:
        raise m.Refusal.one("key", f"is not a notification of plan {plan_id} to {to}; nothing was sent")


def check_report_date(day: str, status: PlanStatus) -> None:
    """Not in the future (London's today), not before the plan's conference."""
    when = date.fromisoformat(day)
    today = today_in_london()
    if when > today:
        raise m.Refusal.one("date", f"{when} is in the future (today is {today}); nothing was sent")
    if when < status.icpc_date:
        raise m.Refusal.one("date", f"{when} is before the plan started ({status.icpc_date}); nothing was sent")
