"""The `outbox` table: one row per notification key, recording what became of it.

Blocking database calls; the `notify` activity runs them in a thread. Each function commits on
its own, so what is written survives a crash of the worker straight after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.db import insert_ignore, outbox
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
