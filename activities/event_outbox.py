"""The events outbox: the `events` table (each fact once, as the CloudEvent sent) and
`event_deliveries` (each event's delivery to each endpoint: pending, delivered or failed).

`record` runs inside the read model's save, in its transaction: a plan's row and the events it
brings are written together or not at all. The delivery loop (worker/event_delivery.py) and
`cpplan events` use the rest. Blocking database calls: callers in the event loop use threads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from activities.db import event_deliveries, events, insert_ignore
from activities.event_facts import cloud_event, new_facts

log = structlog.get_logger("cpplan.events")


def _status(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def record(
    conn: Connection,
    plan_id: str,
    previous_json: str | None,
    status: Mapping[str, Any],
    at: datetime,
    endpoints: Sequence[str],
) -> int:
    """The events the new status brings (against the status saved before, `previous_json`),
    each with a pending delivery to every endpoint; returns how many were new. An event already
    recorded (a retried save) is left as it is."""
    previous = _status(previous_json)
    try:
        try:
            found = new_facts(plan_id, previous, status, at)
        except (KeyError, TypeError, ValueError):
            # The previous status was not the contract's (an old row): recorded keys keep the
            # facts it held from being sent twice.
            found = new_facts(plan_id, None, status, at)
    except (KeyError, TypeError, ValueError) as err:
        # Never the plan's own saves held up by its events: the read model is saved all the same.
        log.error("events not recorded: status not as the contract says", plan_id=plan_id, error=type(err).__name__)
        return 0
    now = datetime.now(UTC)
    keys = [f.key for f in found]
    # Read, not taken from the insert's row count, which not every driver reports for a
    # conflict ignored: a fact recorded already (a retried save) gets no second delivery.
    known = set(conn.execute(sa.select(events.c.key).where(events.c.key.in_(keys))).scalars()) if keys else set()
    added = 0
    for fact in found:
        if fact.key in known:
            continue
        row = {
            "key": fact.key,
            "event_id": fact.event_id,
            "plan_id": plan_id,
            "type": fact.type,
            "time": fact.time,
            "recorded_at": now,
            "body": cloud_event(plan_id, fact),
        }
        insert_ignore(conn, events, row)  # a save running at the same time may have written it
        added += 1
        for name in endpoints:
            insert_ignore(conn, event_deliveries, _pending(fact.event_id, name, now))
    return added


def _pending(event_id: str, endpoint: str, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "endpoint": endpoint,
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "first_failed_at": None,
        "delivered_at": None,
        "last_error": None,
        "claimed_until": None,
    }


# ---------------------------------------------------------------- delivering


@dataclass(frozen=True)
class Due:
    event_id: str
    endpoint: str
    attempts: int
    first_failed_at: datetime | None
    body: str


def due(engine: Engine, endpoints: Sequence[str], now: datetime, limit: int = 100) -> list[Due]:
    """Pending deliveries to these endpoints whose time has come and that no one holds, the
    longest waiting first."""
    if not endpoints:
        return []
    d = event_deliveries
    query = (
        sa.select(d.c.event_id, d.c.endpoint, d.c.attempts, d.c.first_failed_at, events.c.body)
        .select_from(d.join(events, events.c.event_id == d.c.event_id))
        .where(
            d.c.state == "pending",
            d.c.endpoint.in_(list(endpoints)),
            d.c.next_attempt_at <= now,
            sa.or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
        )
        .order_by(d.c.next_attempt_at, events.c.recorded_at, d.c.event_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [Due(r.event_id, r.endpoint, r.attempts, r.first_failed_at, r.body) for r in conn.execute(query)]


def _this(event_id: str, endpoint: str) -> sa.ColumnElement[bool]:
    return sa.and_(event_deliveries.c.event_id == event_id, event_deliveries.c.endpoint == endpoint)


def claim(engine: Engine, event_id: str, endpoint: str, now: datetime, lease: timedelta) -> bool:
    """Take the right to post one delivery for `lease`; False when it is no longer pending or
    another loop holds it."""
    d = event_deliveries
    with engine.begin() as conn:
        taken = conn.execute(
            d.update()
            .where(
                _this(event_id, endpoint),
                d.c.state == "pending",
                sa.or_(d.c.claimed_until.is_(None), d.c.claimed_until < now),
            )
            .values(claimed_until=now + lease)
        )
    return taken.rowcount == 1


def mark_delivered(engine: Engine, event_id: str, endpoint: str, now: datetime) -> None:
    d = event_deliveries
    with engine.begin() as conn:
        conn.execute(
            d.update()
            .where(_this(event_id, endpoint))
            .values(state="delivered", attempts=d.c.attempts + 1, delivered_at=now, last_error=None, claimed_until=None)
        )


def note_failure(
    engine: Engine,
    event_id: str,
    endpoint: str,
    reason: str,
    *,
    now: datetime,
    next_attempt_at: datetime,
    give_up: bool,
) -> None:
    """An attempt that failed: tried again at `next_attempt_at`, or `failed` for good when
    `give_up`. Leaves a delivery another attempt has since delivered as it is."""
    d = event_deliveries
    with engine.begin() as conn:
        conn.execute(
            d.update()
            .where(_this(event_id, endpoint), d.c.state == "pending")
            .values(
                state="failed" if give_up else "pending",
                attempts=d.c.attempts + 1,
                first_failed_at=sa.func.coalesce(d.c.first_failed_at, now),
                next_attempt_at=next_attempt_at,
                last_error=reason[:500],
                claimed_until=None,
            )
        )


# ---------------------------------------------------------------- `cpplan events` and `cpplan doctor`


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def list_events(
    engine: Engine,
    *,
    event_id: str | None = None,
    plan_id: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Events, oldest recorded first, each with its deliveries; `state` keeps those with a
    delivery in that state."""
    query = sa.select(
        events.c.event_id, events.c.key, events.c.plan_id, events.c.type, events.c.time, events.c.recorded_at
    ).order_by(events.c.recorded_at, events.c.event_id)
    if event_id is not None:
        query = query.where(events.c.event_id == event_id)
    if plan_id is not None:
        query = query.where(events.c.plan_id == plan_id)
    if since is not None:
        query = query.where(events.c.recorded_at >= since)
    if state is not None:
        query = query.where(
            sa.exists().where(event_deliveries.c.event_id == events.c.event_id, event_deliveries.c.state == state)
        )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        found = [{k: _iso(v) for k, v in row._mapping.items()} for row in conn.execute(query)]
        ids = [e["event_id"] for e in found]
        deliveries = (
            conn.execute(
                sa.select(
                    event_deliveries.c.event_id,
                    event_deliveries.c.endpoint,
                    event_deliveries.c.state,
                    event_deliveries.c.attempts,
                    event_deliveries.c.next_attempt_at,
                    event_deliveries.c.delivered_at,
                    event_deliveries.c.last_error,
                )
                .where(event_deliveries.c.event_id.in_(ids))
                .order_by(event_deliveries.c.endpoint)
            ).all()
            if ids
            else []
        )
    by_event: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for row in deliveries:
        item = {k: _iso(v) for k, v in row._mapping.items()}
        by_event[item.pop("event_id")].append(item)
    for e in found:
        e["deliveries"] = by_event[e["event_id"]]
    return found


def redeliver(
    engine: Engine,
    *,
    event_id: str | None = None,
    since: datetime | None = None,
    failed_only: bool = False,
    endpoints: Sequence[str] = (),
) -> int:
    """Send the chosen events again, as new: their deliveries pending from now, attempts
    counted afresh, under the same `webhook-id`. An endpoint in `endpoints` that never had the
    event is given it too. Returns how many deliveries were set pending."""
    chosen = sa.select(events.c.event_id)
    if event_id is not None:
        chosen = chosen.where(events.c.event_id == event_id)
    if since is not None:
        chosen = chosen.where(events.c.recorded_at >= since)
    now = datetime.now(UTC)
    d = event_deliveries
    with engine.begin() as conn:
        ids = [r.event_id for r in conn.execute(chosen)]
        reset = 0
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            query = d.update().where(d.c.event_id.in_(batch))
            query = query.where(d.c.state == "failed") if failed_only else query
            reset += conn.execute(
                query.values(
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    first_failed_at=None,
                    delivered_at=None,
                    last_error=None,
                    claimed_until=None,
                )
            ).rowcount
        if not failed_only and endpoints:
            for event in ids:
                had = set(conn.execute(sa.select(d.c.endpoint).where(d.c.event_id == event)).scalars())
                for name in endpoints:
                    if name not in had:
                        insert_ignore(conn, d, _pending(event, name, now))
                        reset += 1
    return reset


@dataclass(frozen=True)
class EndpointTrouble:
    """An endpoint's deliveries that failed for good, or are still being retried."""

    endpoint: str
    failed: int
    retrying: int
    oldest: datetime | None  # the oldest such event's recording
    last_error: str | None

    def describe(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{self.failed} event(s) not delivered, given up")
        if self.retrying:
            parts.append(f"{self.retrying} being retried")
        since = f" since {self.oldest.isoformat(timespec='seconds')}" if self.oldest else ""
        error = f" (last error: {self.last_error})" if self.last_error else ""
        return f"endpoint {self.endpoint}: {', '.join(parts)}{since}{error}"

    def as_json(self) -> dict[str, Any]:
        return {
            "plan_id": None,
            "problem": "events-not-delivered" if self.failed else "events-retrying",
            "endpoint": self.endpoint,
            "failed": self.failed,
            "retrying": self.retrying,
            "since": self.oldest.isoformat() if self.oldest else None,
            "last_error": self.last_error,
            "what": self.describe(),
        }


def endpoint_trouble(engine: Engine) -> list[EndpointTrouble]:
    """Per endpoint: deliveries given up (`failed`) and pending ones that have failed at least
    once; endpoints with neither are left out."""
    d = event_deliveries
    troubled = sa.or_(d.c.state == "failed", sa.and_(d.c.state == "pending", d.c.attempts > 0))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                d.c.endpoint,
                sa.func.sum(sa.case((d.c.state == "failed", 1), else_=0)).label("failed"),
                sa.func.sum(sa.case((d.c.state == "pending", 1), else_=0)).label("retrying"),
                sa.func.min(events.c.recorded_at).label("oldest"),
            )
            .select_from(d.join(events, events.c.event_id == d.c.event_id))
            .where(troubled)
            .group_by(d.c.endpoint)
            .order_by(d.c.endpoint)
        ).all()
        found = []
        for row in rows:
            last = conn.execute(
                sa.select(d.c.last_error)
                .where(d.c.endpoint == row.endpoint, troubled, d.c.last_error.is_not(None))
                .order_by(d.c.next_attempt_at.desc())
                .limit(1)
            ).scalar()
            oldest = row.oldest
            if isinstance(oldest, str):  # SQLite gives an aggregate's instant back as text
                oldest = datetime.fromisoformat(oldest)
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            found.append(EndpointTrouble(row.endpoint, int(row.failed or 0), int(row.retrying or 0), oldest, last))
    return found
