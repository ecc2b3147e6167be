"""The `notify` activity: deliver a batch of notifications, each at most once per key.

The whole batch is first written to the outbox, each under its idempotency key. A key already
`sent` or `recorded` is not sent again (a retried activity, a replayed workflow); a key that
`failed` permanently is reported again, not retried. Each row is claimed before its send and
marked straight after it, so a crash half-way through a batch resends none of the earlier ones
and two overlapping attempts never send the same row.

How a notification goes is the worker's configured channels' business (activities/channels.py:
GOV.UK Notify, SMTP): each way it goes (channel and medium, an e-mail and a text message) has
its own row in `deliveries`, marked before the send and after it. A channel that keeps what it
was sent (Notify) is asked, before a message that may have gone is sent again, whether it has
it: a worker killed between Notify's 201 and its own record sends nothing twice.

With no channel configured nothing is sent: notifications are `recorded` (outbox and log) for
another system to pick up. A notification no channel can reach its person by is `recorded` too.

Logs carry opaque references only (plan, key, kind, recipient id and role): never an address,
a subject or a body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox as store
from activities.channels import Channel, ChannelConfigError, Medium, configured_channels, reference, routes
from activities.db import get_engine
from activities.mail import PermanentDeliveryError, SmtpConfigError, TransientDeliveryError
from workflows.activity_io import NOTIFY, DeliveryFailure, NotifyBatch, NotifyResult
from workflows.engine import Notification

log = structlog.get_logger("cpplan.notify")
RECORD_RETRY_S = 0.2


@activity.defn(name=NOTIFY)
async def notify(batch: NotifyBatch) -> NotifyResult:
    try:
        channels = configured_channels()
    except TransientDeliveryError as err:
        # Retryable: the plan waits for someone to fix the worker's configuration.
        raise ApplicationError(str(err), type=_error_type(err)) from None
    engine = await asyncio.to_thread(get_engine)
    result = NotifyResult()
    entries = await asyncio.to_thread(store.enqueue, engine, batch.notifications)
    outcomes: dict[str, DeliveryFailure | None] = {}
    try:
        for n in batch.notifications:
            if n.key in outcomes:
                # The same key twice in one batch: its row was read before the first send.
                failure = outcomes[n.key]
            else:
                failure = outcomes[n.key] = await _deliver(engine, channels, n, entries[n.key])
            if failure is None:
                result.delivered.append(n.key)
            else:
                result.failed.append(failure)
    finally:
        for channel in channels:
            await asyncio.to_thread(channel.close)
    return result


def _error_type(err: TransientDeliveryError) -> str:
    if isinstance(err, SmtpConfigError):
        return "SmtpConfigError"
    if isinstance(err, ChannelConfigError):
        return "ChannelConfigError"
    return "DeliveryUnavailable" if "Notify" in str(err) else "SmtpUnavailable"


async def _deliver(
    engine: Engine, channels: list[Channel], n: Notification, entry: store.OutboxEntry
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

    ways = routes(channels, n)
    if not ways:
        await asyncio.to_thread(store.mark_recorded, engine, n.key)
        ref.info("notification recorded", reason="no channel configured" if not channels else "no e-mail address")
        return None

    try:
        outcome, reason = await asyncio.to_thread(_claim_send_mark, engine, ways, n)
    except TransientDeliveryError as err:
        ref.warning("notification deferred; the activity will be retried", reason=str(err))
        # Raised, not returned: Temporal retries the activity with backoff, and the rows
        # already sent in this batch are skipped next time.
        raise ApplicationError(str(err), type=_error_type(err)) from None
    if outcome == "busy":
        ref.info("notification being sent by another attempt")
        # Retried later, by when the other attempt has marked it sent (or its claim has lapsed).
        raise ApplicationError("notification is being sent by another attempt", type="NotificationBusy")
    if outcome == "failed":
        ref.warning("notification refused", reason=reason)
        return DeliveryFailure(key=n.key, to_id=n.to_id, reason=reason or "refused")
    ref.info("notification sent", channels=sorted({f"{c.name}:{m}" for c, m in ways}))
    return None


def _claim_send_mark(engine: Engine, ways: list[tuple[Channel, Medium]], n: Notification) -> tuple[str, str | None]:
    """("sent", None), ("busy", None) or ("failed", reason); raises on a transient failure.

    One blocking call from claim to record: should the activity be cancelled while a server
    is talking, the thread still records what happened, so no row can be left unmarked.
    """
    claimed_at = time.monotonic()  # read before the claim: never later than the lease's start
    if not store.claim(engine, n.key):
        # Another attempt holds it, or one that died: where every way it goes is a channel that
        # keeps what it was sent, ask it rather than wait for the claim to lapse.
        if all(channel.can_find for channel, _ in ways) and _all_found(engine, ways, n):
            _record(lambda: store.mark_sent(engine, n.key), claimed_at)
            return "sent", None
        return "busy", None
    failures: list[str] = []
    try:
        for channel, medium in ways:
            failure = _send_one(engine, channel, medium, n, claimed_at)
            if failure is not None:
                failures.append(failure)
    except TransientDeliveryError as err:
        store.note_attempt_failed(engine, n.key, str(err))
        raise
    if len(failures) == len(ways):
        reason = "; ".join(failures)
        store.mark_failed(engine, n.key, reason)
        return "failed", reason
    _record(lambda: store.mark_sent(engine, n.key), claimed_at)
    return "sent", None


def _send_one(engine: Engine, channel: Channel, medium: Medium, n: Notification, claimed_at: float) -> str | None:
    """Send one way unless it went before; the reason when it never can."""
    ref = reference(n.key, channel.name, medium)
    row = store.delivery(engine, n, channel.name, medium, ref)
    if row.state in store.SETTLED_STATES:
        return None
    if row.state == "failed":
        return row.last_error or "refused"
    if channel.can_find and row.tried:
        found = channel.find(ref, medium)
        if found is not None:
            _record(lambda: store.delivery_sent(engine, ref, found), claimed_at)
            return None
    store.delivery_sending(engine, ref)
    try:
        provider_id = channel.send(n, medium, ref)
    except PermanentDeliveryError as err:
        store.delivery_failed(engine, ref, str(err))
        return str(err)
    except TransientDeliveryError as err:
        store.delivery_attempt_failed(engine, ref, str(err))
        raise
    _record(lambda: store.delivery_sent(engine, ref, provider_id), claimed_at)
    return None


def _all_found(engine: Engine, ways: list[tuple[Channel, Medium]], n: Notification) -> bool:
    """Whether every way the notification goes is sent already, by our record or the channel's."""
    for channel, medium in ways:
        ref = reference(n.key, channel.name, medium)
        row = store.delivery(engine, n, channel.name, medium, ref)
        if row.state in store.SETTLED_STATES:
            continue
        found = channel.find(ref, medium) if row.tried else None
        if found is None:
            return False
        store.delivery_sent(engine, ref, found)
    return True


def _record(write: Callable[[], None], claimed_at: float) -> None:
    """The server has the message: record it, waiting out a locked or unreachable database
    rather than failing. A row left unrecorded is sent again once its claim lapses (or, where
    the channel can be asked, is found there), so keep trying for as long as the claim holds
    every other attempt off."""
    deadline = claimed_at + store.CLAIM_LEASE.total_seconds()
    while True:
        try:
            write()
            return
        except sa.exc.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RECORD_RETRY_S)
