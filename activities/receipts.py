"""Delivery receipts: what GOV.UK Notify says became of each message, and what the plan is told.

Notify calls back (`POST /api/notify/receipts`, starters/web/notify_receipts.py) with each
message's status; `apply_receipt` writes it to the message's `deliveries` row. A final failure
(`permanent-failure`, `temporary-failure`, `technical-failure`) makes the row `undelivered`, and
the plan is sent the `record_delivery_failure` report (`tell_plans`): the person was not told,
so the next person up is (workflows/plan_rules/deliveries.py).

A message can also go unconfirmed: no receipt comes (a callback lost, or none configured).
`check_unconfirmed` (run by the watchdog's sweep) asks Notify after each message still `sent`
past `CPPLAN_NOTIFY_RECEIPT_LIMIT` minutes (default 60): delivered, failed, or still not
delivered, which counts as not told (`no-receipt`). It also sends again any report a plan did
not get (Temporal down when the receipt came).

SMTP has no receipts: its rows stay `sent`.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError

import workflows
from activities.db import deliveries, get_engine
from activities.mail import DeliveryError
from activities.notify_channel import DELIVERED, FAILED_STATUSES, NotifyChannel, notify_settings_from_env
from workflows.calendar import local_date

log = structlog.get_logger("cpplan.receipts")
DEFAULT_LIMIT_MINUTES = 60
REPORT = "record_delivery_failure"  # workflows/plan_rules/deliveries.py
FINAL_STATES = ("delivered", "undelivered")


def receipt_limit() -> timedelta:
    """How long a message may go without a final receipt before it counts as not delivered."""
    raw = os.environ.get("CPPLAN_NOTIFY_RECEIPT_LIMIT", "").strip()
    try:
        minutes = float(raw) if raw else DEFAULT_LIMIT_MINUTES
    except ValueError:
        raise ValueError(f"CPPLAN_NOTIFY_RECEIPT_LIMIT must be a number of minutes, not {raw!r}") from None
    return timedelta(minutes=max(minutes, 0))


@dataclass(frozen=True)
class NotDelivered:
    """A message the plan must hear was not delivered."""

    reference: str
    plan_id: str
    key: str
    to_id: str
    channel: str
    medium: str
    status: str

    def report(self, now: datetime) -> dict[str, Any]:
        return {
            "key": self.key,
            "to": self.to_id,
            "channel": self.channel,
            "medium": self.medium,
            "status": self.status,
            "date": local_date(now).isoformat(),
        }


def _not_delivered(row: Any, status: str) -> NotDelivered:
    return NotDelivered(row.reference, row.plan_id, row.key, row.to_id, row.channel, row.medium, status)


def _row(conn: Any, provider_id: str | None, reference: str | None) -> Any:
    if provider_id:
        found = conn.execute(sa.select(deliveries).where(deliveries.c.provider_id == provider_id)).first()
        if found is not None:
            return found
    if reference:
        return conn.execute(sa.select(deliveries).where(deliveries.c.reference == reference)).first()
    return None


def apply_receipt(
    engine: Engine, provider_id: str | None, reference: str | None, status: str
) -> tuple[bool, NotDelivered | None]:
    """Record a message's status. (known, what the plan must be told, if anything).

    A failure is final, even after `delivered` (an e-mail can bounce after its server took it);
    `delivered` after a failure changes nothing, except after our own `no-receipt` (it came
    late). An interim status (`sending`) arriving after a final one is only noted."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = _row(conn, provider_id, reference)
        if row is None:
            return False, None
        values: dict[str, Any] = {}
        if provider_id and not row.provider_id:
            values["provider_id"] = provider_id  # a receipt that came before our own record
        failed_before = row.state == "undelivered" and row.provider_status != "no-receipt"
        if status == DELIVERED and not failed_before:
            values.update(state="delivered", provider_status=status, confirmed_at=now)
        elif status in FAILED_STATUSES:
            values.update(state="undelivered", provider_status=status, confirmed_at=now)
        elif row.state not in FINAL_STATES:
            values.update(provider_status=status)
        if values:
            conn.execute(deliveries.update().where(deliveries.c.reference == row.reference).values(**values))
    tell = status in FAILED_STATUSES and row.reported_at is None
    return True, _not_delivered(row, status) if tell else None


def mark_reported(engine: Engine, reference: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            deliveries.update().where(deliveries.c.reference == reference).values(reported_at=datetime.now(UTC))
        )


async def tell_plans(client: Client, engine: Engine, found: list[NotDelivered]) -> int:
    """Send each plan its report; a report sent is marked so. Returns how many were sent; one
    that could not be sent is left for the next sweep. A message of a complaint (its key is not
    the plan's) is recorded as not delivered, not reported."""
    sent = 0
    for item in found:
        if not item.key.startswith(f"{item.plan_id}:"):
            await asyncio.to_thread(mark_reported, engine, item.reference)
            continue
        handle = client.get_workflow_handle(workflows.workflow_id(item.plan_id))
        try:
            await handle.signal(REPORT, item.report(datetime.now(UTC)))
        except RPCError as err:
            log.warning("plan not told of an undelivered message", plan_id=item.plan_id, reason=str(err)[:200])
            continue
        await asyncio.to_thread(mark_reported, engine, item.reference)
        log.info("plan told of an undelivered message", plan_id=item.plan_id, key=item.key, status=item.status)
        sent += 1
    return sent


def _overdue_and_unreported(engine: Engine, before: datetime) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        waiting = conn.execute(
            sa.select(deliveries).where(
                deliveries.c.channel == "notify", deliveries.c.state == "sent", deliveries.c.sent_at < before
            )
        ).all()
        unreported = conn.execute(
            sa.select(deliveries).where(deliveries.c.state == "undelivered", deliveries.c.reported_at.is_(None))
        ).all()
    return list(waiting), list(unreported)


def _ask_notify(engine: Engine, rows: list[Any]) -> list[NotDelivered]:
    """Notify's word on each message past the limit; blocking."""
    settings = notify_settings_from_env()
    if settings is None:
        return []
    channel = NotifyChannel(settings)
    found: list[NotDelivered] = []
    try:
        for row in rows:
            status = "no-receipt"
            if row.provider_id:
                try:
                    status = str(channel.status(row.provider_id).get("status") or "no-receipt")
                except DeliveryError as err:
                    log.warning("delivery not checked", reference=row.reference, reason=str(err))
                    continue
            if status not in (DELIVERED, *FAILED_STATUSES):
                status = "no-receipt"  # still not delivered past the limit: not told
            if status == "no-receipt":
                with engine.begin() as conn:
                    conn.execute(
                        deliveries.update()
                        .where(deliveries.c.reference == row.reference, deliveries.c.state == "sent")
                        .values(state="undelivered", provider_status="no-receipt", confirmed_at=datetime.now(UTC))
                    )
                found.append(_not_delivered(row, status))
                continue
            _, tell = apply_receipt(engine, row.provider_id, row.reference, status)
            if tell is not None:
                found.append(tell)
    finally:
        channel.close()
    return found


async def check_unconfirmed(client: Client, url: str | None = None) -> int:
    """The periodic check: messages past the limit without a final receipt, and reports not
    yet sent. Returns how many plans were told."""
    engine = await asyncio.to_thread(get_engine, url)
    before = datetime.now(UTC) - receipt_limit()
    waiting, unreported = await asyncio.to_thread(_overdue_and_unreported, engine, before)
    found = [_not_delivered(row, row.provider_status or "no-receipt") for row in unreported]
    if waiting:
        found += await asyncio.to_thread(_ask_notify, engine, waiting)
    return await tell_plans(client, engine, found) if found else 0
