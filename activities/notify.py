"""The `notify` activity: deliver a batch of notifications, each at most once per key.

The whole batch is first written to the outbox, each under its idempotency key. A key already
`sent` or `recorded` is not sent again (a retried activity, a replayed workflow); a key that
`failed` permanently is reported again, not retried. Each row is claimed before its send and
marked straight after it, so a crash half-way through a batch resends none of the earlier ones
and two overlapping attempts never mail the same row.

Without `CPPLAN_SMTP_URL` nothing is mailed: notifications are `recorded` (outbox and log) for
another system to pick up. A notification with no e-mail address is `recorded` too.

Logs carry opaque references only (plan, key, kind, recipient id and role): never an address,
a subject or a body.
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox as store
from activities.db import get_engine
from activities.mail import (
    Mailer,
    PermanentDeliveryError,
    SmtpConfigError,
    TransientDeliveryError,
    smtp_settings_from_env,
)
from workflows.activity_io import NOTIFY, DeliveryFailure, NotifyBatch, NotifyResult
from workflows.engine import Notification

log = structlog.get_logger("cpplan.notify")
RECORD_RETRY_S = 0.2


@activity.defn(name=NOTIFY)
async def notify(batch: NotifyBatch) -> NotifyResult:
    try:
        settings = smtp_settings_from_env()
    except SmtpConfigError as err:
        # Retryable: the plan waits for someone to fix the worker's configuration.
        raise ApplicationError(str(err), type="SmtpConfigError") from None
    engine = await asyncio.to_thread(get_engine)
    mailer = Mailer(settings) if settings else None
    result = NotifyResult()
    entries = await asyncio.to_thread(store.enqueue, engine, batch.notifications)
    outcomes: dict[str, DeliveryFailure | None] = {}
    try:
        for n in batch.notifications:
            if n.key in outcomes:
                # The same key twice in one batch: its row was read before the first send.
                failure = outcomes[n.key]
            else:
                failure = outcomes[n.key] = await _deliver(engine, mailer, n, entries[n.key])
            if failure is None:
                result.delivered.append(n.key)
            else:
                result.failed.append(failure)
    finally:
        if mailer is not None:
            await asyncio.to_thread(mailer.close)
    return result


async def _deliver(
    engine: Engine, mailer: Mailer | None, n: Notification, entry: store.OutboxEntry
) -> DeliveryFailure | None:
    """None when delivered (now or before); the failure when it never can be."""
    ref = log.bind(
        plan_id=n.plan_id, key=n.key, kind=n.kind, to_id=n.to_id, to_role=n.to_role, attempt=activity.info().attempt
    )
    if entry.state in store.DELIVERED_STATES:
        ref.info("notification already delivered", state=entry.state)
        return None
    if entry.state == "failed":
        ref.info("notification failed before; not retried")
        return DeliveryFailure(key=n.key, to_id=n.to_id, reason=entry.last_error or "delivery failed")

    if mailer is None or not n.to_email:
        await asyncio.to_thread(store.mark_recorded, engine, n.key)
        ref.info("notification recorded", reason="smtp not configured" if mailer is None else "no e-mail address")
        return None

    try:
        outcome, reason = await asyncio.to_thread(_claim_send_mark, engine, mailer, n)
    except TransientDeliveryError as err:
        ref.warning("notification deferred; the activity will be retried", reason=str(err))
        # Raised, not returned: Temporal retries the activity with backoff, and the rows
        # already sent in this batch are skipped next time.
        kind = "SmtpConfigError" if isinstance(err, SmtpConfigError) else "SmtpUnavailable"
        raise ApplicationError(str(err), type=kind) from None
    if outcome == "busy":
        ref.info("notification being sent by another attempt")
        # Retried later, by when the other attempt has marked it sent (or its claim has lapsed).
        raise ApplicationError("notification is being sent by another attempt", type="NotificationBusy")
    if outcome == "failed":
        ref.warning("notification refused", reason=reason)
        return DeliveryFailure(key=n.key, to_id=n.to_id, reason=reason or "refused")
    ref.info("notification sent")
    return None


def _claim_send_mark(engine: Engine, mailer: Mailer, n: Notification) -> tuple[str, str | None]:
    """("sent", None), ("busy", None) or ("failed", reason); raises on a transient failure.

    One blocking call from claim to record: should the activity be cancelled while the server
    is talking, the thread still records what happened, so the row cannot be left unmarked.
    """
    claimed_at = time.monotonic()  # read before the claim: never later than the lease's start
    if not store.claim(engine, n.key):
        return "busy", None
    try:
        mailer.send(n)
    except PermanentDeliveryError as err:
        store.mark_failed(engine, n.key, str(err))
        return "failed", str(err)
    except TransientDeliveryError as err:
        store.note_attempt_failed(engine, n.key, str(err))
        raise
    _record_sent(engine, n.key, claimed_at)
    return "sent", None


def _record_sent(engine: Engine, key: str, claimed_at: float) -> None:
    """The server has the message: record it, waiting out a locked or unreachable database
    rather than failing. A row left unrecorded is mailed again once its claim lapses, so keep
    trying for as long as the claim holds every other attempt off."""
    deadline = claimed_at + store.CLAIM_LEASE.total_seconds()
    while True:
        try:
            store.mark_sent(engine, key)
            return
        except sa.exc.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RECORD_RETRY_S)
