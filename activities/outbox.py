"""The `outbox` table: one row per notification key, recording what became of it; and the
`deliveries` table: one row per channel and medium the notification went by, each with its own
state (activities/channels.py).

Blocking database calls; the `notify` activity runs them in a thread. Each function commits on
its own, so what is written survives a crash of the worker straight after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.db import deliveries, insert_ignore, outbox
from workflows.engine import Notification

# Once in one of these states a notification is never sent again.
DELIVERED_STATES = ("sent", "recorded")
# Longer than one send can take (SMTP timeouts are seconds); a claim left by a crashed worker
# holds that notification back for at most this long.
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    state: str
    attempts: int
    last_error: str | None


def enqueue(engine: Engine, notifications: Sequence[Notification]) -> dict[str, OutboxEntry]:
    """Add every notification whose key is new, in one transaction (so the whole batch is on
    record even if the mail server is down), and return each key's row as it now stands."""
    with engine.begin() as conn:
        for n in notifications:
            insert_ignore(
                conn,
                outbox,
                {
                    "key": n.key,
                    "plan_id": n.plan_id,
                    "kind": n.kind,
                    "to_id": n.to_id,
                    "to_role": n.to_role,
                    "to_email": n.to_email,
                    "subject": n.subject,
                    "body": n.body,
                    "obligation_id": n.obligation_id,
                    "created_at": n.created_at,
                    "state": "pending",
                    "attempts": 0,
                },
            )
        keys = [n.key for n in notifications]
        rows = (
            conn.execute(
                sa.select(outbox.c.key, outbox.c.state, outbox.c.attempts, outbox.c.last_error).where(
                    outbox.c.key.in_(keys)
                )
            ).all()
            if keys
            else []
        )
    return {
        row.key: OutboxEntry(key=row.key, state=row.state, attempts=row.attempts, last_error=row.last_error)
        for row in rows
    }


def _update(engine: Engine, key: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.key == key).values(**values))


def claim(engine: Engine, key: str) -> bool:
    """Take the right to mail a pending row; False if it is no longer pending or another
    attempt holds an unexpired claim."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        taken = conn.execute(
            outbox.update()
            .where(
                outbox.c.key == key,
                outbox.c.state == "pending",
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
            )
            .values(claimed_until=now + CLAIM_LEASE)
        )
    return taken.rowcount == 1


def mark_sent(engine: Engine, key: str) -> None:
    _update(
        engine,
        key,
        state="sent",
        attempts=outbox.c.attempts + 1,
        sent_at=datetime.now(UTC),
        last_error=None,
        claimed_until=None,
    )


def mark_recorded(engine: Engine, key: str) -> None:
    _update(engine, key, state="recorded")


def mark_failed(engine: Engine, key: str, reason: str) -> None:
    _update(engine, key, state="failed", attempts=outbox.c.attempts + 1, last_error=reason, claimed_until=None)


def note_attempt_failed(engine: Engine, key: str, reason: str) -> None:
    """A transient failure: the row stays pending, free for the next attempt."""
    _update(engine, key, attempts=outbox.c.attempts + 1, last_error=reason, claimed_until=None)


# ---------------------------------------------------------------- deliveries: one per channel


@dataclass(frozen=True)
class Delivery:
    reference: str
    key: str
    channel: str
    medium: str
    state: str
    attempts: int
    tried: bool  # a send was started before: the channel may have it
    provider_id: str | None
    last_error: str | None


# A delivery in one of these states is never sent again.
SETTLED_STATES = ("sent", "recorded", "delivered", "undelivered")


def delivery(engine: Engine, n: Notification, channel: str, medium: str, reference: str) -> Delivery:
    """The notification's row for this channel and medium, added when new."""
    with engine.begin() as conn:
        insert_ignore(
            conn,
            deliveries,
            {
                "reference": reference,
                "key": n.key,
                "plan_id": n.plan_id,
                "to_id": n.to_id,
                "channel": channel,
                "medium": medium,
                "state": "pending",
                "attempts": 0,
            },
        )
        row = conn.execute(sa.select(deliveries).where(deliveries.c.reference == reference)).one()
    return Delivery(
        reference=row.reference,
        key=row.key,
        channel=row.channel,
        medium=row.medium,
        state=row.state,
        attempts=row.attempts,
        tried=row.claimed_until is not None or row.attempts > 0,
        provider_id=row.provider_id,
        last_error=row.last_error,
    )


def _update_delivery(engine: Engine, reference: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(deliveries.update().where(deliveries.c.reference == reference).values(**values))


def delivery_sending(engine: Engine, reference: str) -> None:
    """Written before the channel is called: should the worker die before recording the
    answer, the next attempt knows to ask the channel first."""
    _update_delivery(engine, reference, claimed_until=datetime.now(UTC) + CLAIM_LEASE)


def delivery_sent(engine: Engine, reference: str, provider_id: str | None) -> None:
    _update_delivery(
        engine,
        reference,
        state="sent",
        provider_id=provider_id,
        attempts=deliveries.c.attempts + 1,
        sent_at=datetime.now(UTC),
        last_error=None,
    )


def delivery_failed(engine: Engine, reference: str, reason: str) -> None:
    _update_delivery(engine, reference, state="failed", attempts=deliveries.c.attempts + 1, last_error=reason)


def delivery_attempt_failed(engine: Engine, reference: str, reason: str) -> None:
    """A transient failure: the channel refused it for now, so it does not have it."""
    _update_delivery(engine, reference, attempts=deliveries.c.attempts + 1, last_error=reason, claimed_until=None)
