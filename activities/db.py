"""The database the activities write: the read model (`plans`, `obligations`) and the `outbox`.

The workflow's own state lives in Temporal; these tables are a copy for people and scripts
(`cpplan overdue`, reports), the record of every notification, keyed by its idempotency key, and
the front door's audit trail. Their schema's history is in activities/migrations (Alembic;
`cpplan db upgrade`, activities/schema.py).
Any SQLAlchemy URL works (`CPPLAN_DATABASE_URL`); the default is a SQLite file under `.data/`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from activities.private_files import create_private_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQLITE_BUSY_TIMEOUT_S = 30


def sqlite_busy_timeout() -> float:
    """Seconds a SQLite writer waits for another's lock before "database is locked" (the
    activity then fails and Temporal retries it): `CPPLAN_SQLITE_BUSY_TIMEOUT`, default 30."""
    raw = os.environ.get("CPPLAN_SQLITE_BUSY_TIMEOUT", "").strip()
    if not raw:
        return SQLITE_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"CPPLAN_SQLITE_BUSY_TIMEOUT must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"CPPLAN_SQLITE_BUSY_TIMEOUT must not be negative, not {raw!r}")
    return value


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Instants stored in UTC and read back timezone-aware, whatever the backend.

    SQLite keeps no offset, so every value is converted to UTC on the way in; a naive value is
    taken to be UTC already (Temporal's clock is UTC).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("plan_id", sa.String(200), primary_key=True),
    sa.Column("policy", sa.String(100), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("icpc_date", sa.Date, nullable=False),
    sa.Column("team_ref", sa.String(200)),
    sa.Column("lead_ref", sa.String(200)),
    sa.Column("next_due_date", sa.Date),
    sa.Column("next_due_kind", sa.String(50)),
    sa.Column("overdue_count", sa.Integer, nullable=False, default=0),
    sa.Column("status_json", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # The server's view of the plan's workflow (running, terminated, workflow-task-failing, ...),
    # written by the watchdog: a row can say "active" long after its workflow stopped.
    sa.Column("execution_status", sa.String(30)),
    sa.Column("execution_checked_at", UtcDateTime),
    sa.Index("ix_plans_overdue", "state", "overdue_count"),
)

obligations = sa.Table(
    "obligations",
    metadata,
    sa.Column("plan_id", sa.String(200), primary_key=True),
    sa.Column("obligation_id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("met_on", sa.Date),
    sa.Column("member_id", sa.String(200)),
    sa.Index("ix_obligations_status_due", "status", "due"),
)

# Each plan's escalations as its status lists them, so "escalations to me" (the managers' Team
# page) is an indexed query rather than a read of every plan's saved status.
escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("plan_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # its place in the plan's list
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("to_ref", sa.String(200), nullable=False, index=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("obligation_id", sa.String(200)),
)


def escalation_rows(plan_id: str, status: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A plan's `escalations` rows from its status (docs/contract.md, "Query `status`")."""
    return [
        {
            "plan_id": plan_id,
            "position": position,
            "kind": str(e["kind"]),
            "level": int(e["level"]),
            "to_ref": str(e["to"]),
            "at": as_utc(e["at"]),
            "obligation_id": None if e.get("obligation_id") is None else str(e["obligation_id"]),
        }
        for position, e in enumerate(status.get("escalations") or [])
    ]


# Every entry of each plan's history, by its place in the plan's list (which only grows, across
# runs too): the status query gives the newest (workflows/status.py HISTORY_IN_STATUS); these
# are the whole history, read a page at a time (`cpplan history`, GET /api/plans/{id}/history).
plan_history = sa.Table(
    "plan_history",
    metadata,
    sa.Column("plan_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(100), nullable=False),
    sa.Column("entry_json", sa.Text, nullable=False),  # the entry as the status gives it
)


def history_rows(plan_id: str, status: Mapping[str, Any], after: int = -1) -> list[dict[str, Any]]:
    """A plan's `plan_history` rows from its saved status, those past position `after`."""
    history = status.get("history")
    return [
        {
            "plan_id": plan_id,
            "position": position,
            "event": str(entry.get("event") if isinstance(entry, dict) else "?")[:100],
            "entry_json": json.dumps(entry, default=str),
        }
        for position, entry in enumerate(history if isinstance(history, list) else [])
        if position > after
    ]


def as_utc(at: Any) -> datetime:
    """A moment (or its ISO text) in UTC; one without a zone is taken as UTC already."""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


OUTBOX_STATES = ("pending", "sent", "recorded", "failed")

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("plan_id", sa.String(200), nullable=False, index=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("to_id", sa.String(200), nullable=False),
    sa.Column("to_role", sa.String(100), nullable=False),
    sa.Column("to_email", sa.String(320)),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("obligation_id", sa.String(200)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("state", sa.String(20), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    # Set while one activity attempt is mailing the row, so an overlapping attempt (Temporal
    # retries a timed-out activity while the first may still be running) does not mail it too.
    sa.Column("claimed_until", UtcDateTime),
)

# Sessions signed out before their cookie expires (starters/web/sessions.py): every instance of the
# front door reads them, so a copy of a signed-out cookie is signed in nowhere.
revoked_sessions = sa.Table(
    "revoked_sessions",
    metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("revoked_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),  # the cookie is refused after it anyway
    sa.Index("ix_revoked_sessions_expires", "expires_at"),
)


# The front door's audit trail (starters/web/audit.py): every request, with who, what, which plan,
# when and the outcome; opaque references only, never a payload.
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("who", sa.String(200)),  # staff id; null when nobody signed in
    sa.Column("roles", sa.String(200)),
    sa.Column("via", sa.String(10), nullable=False),  # api or page
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("plan_id", sa.String(200)),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(200)),
    sa.Index("ix_audit_plan_at", "plan_id", "at"),
    sa.Index("ix_audit_who_at", "who", "at"),
)


# ---------------------------------------------------------------- delivery receipts, calendars
# Added with GOV.UK Notify and the calendar feeds (revision 0006).

DELIVERY_STATES = ("pending", "sent", "recorded", "failed", "delivered", "undelivered")

# One row per way a notification goes (its outbox key, the channel, e-mail or text message),
# each with its own state: `sent` once the channel has it, then `delivered` or `undelivered`
# when the channel reports back (GOV.UK Notify does; SMTP stays `sent`). `reference` is what
# the channel is given to find the message by again (Notify's `reference`).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("reference", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(500), nullable=False, index=True),
    sa.Column("plan_id", sa.String(200), nullable=False, index=True),
    sa.Column("to_id", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("medium", sa.String(10), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("provider_id", sa.String(100), index=True),  # the channel's own id (Notify's)
    sa.Column("provider_status", sa.String(40)),  # the channel's last word (delivered, ...)
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_until", UtcDateTime),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("confirmed_at", UtcDateTime),  # a final receipt: delivered or not
    sa.Column("reported_at", UtcDateTime),  # the plan told it was not delivered
    sa.Index("ix_deliveries_state_sent", "state", "sent_at"),
)

# A person's secret calendar feed (GET /calendar/{token}.ics): only the token's SHA-256 is
# kept, so a copy of the database subscribes to nothing. One row per person; a new token
# replaces the old, and revoking deletes it.
calendar_feeds = sa.Table(
    "calendar_feeds",
    metadata,
    sa.Column("staff_id", sa.String(200), primary_key=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("roles", sa.String(300), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)


# ---------------------------------------------------------------- events out (webhooks)
# What the read model's saves learn about a plan, as CloudEvents for case systems
# (activities/event_facts.py), and each event's delivery to each configured endpoint
# (activities/event_outbox.py, worker/event_delivery.py). Additive: two new tables, nothing else
# changes.

EVENT_DELIVERY_STATES = ("pending", "delivered", "failed")

events = sa.Table(
    "events",
    metadata,
    # The fact's business key (`{plan_id}:{obligation_id}:overdue`): a retried save finds it there.
    sa.Column("key", sa.String(600), primary_key=True),
    # The CloudEvent `id` and the `webhook-id` header, derived from the key (never changes).
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("plan_id", sa.String(200), nullable=False, index=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("time", UtcDateTime, nullable=False),  # when it happened (the plan's clock)
    sa.Column("recorded_at", UtcDateTime, nullable=False, index=True),
    # The CloudEvent as sent, byte for byte on every attempt.
    sa.Column("body", sa.Text, nullable=False),
)

event_deliveries = sa.Table(
    "event_deliveries",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("endpoint", sa.String(20), primary_key=True),  # "1", "2", ...: never the URL
    sa.Column("state", sa.String(20), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("first_failed_at", UtcDateTime),
    sa.Column("delivered_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    # Set while one delivery loop is posting it, so another (a second worker) does not too; a
    # loop that dies mid-post leaves it to be posted again once this has passed.
    sa.Column("claimed_until", UtcDateTime),
    sa.Index("ix_event_deliveries_due", "state", "next_attempt_at"),
)


def default_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / '.data' / 'cpplan.db'}"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("CPPLAN_DATABASE_URL") or default_url()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """One engine (and pool) per URL for the whole process. On first use the schema is checked
    and, outside production, upgraded (activities/schema.py); in production a database behind
    this release raises `SchemaBehind` ("run `cpplan db upgrade`")."""
    resolved = database_url(url)
    with _engines_lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = _create_engine(resolved)
            from activities.schema import ensure  # imports this module's tables

            try:
                ensure(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[resolved] = engine
        return engine


def reset_engine_cache() -> None:
    """Forget (and close) every engine: tests point the URL somewhere new between cases."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def unchecked_engine(url: str | None = None) -> Engine:
    """A new engine whose schema is not checked (`cpplan db`, the readiness checks); the caller
    disposes of it."""
    return _create_engine(database_url(url))


def _create_engine(url: str) -> Engine:
    # hide_parameters: a database error must not copy an e-mail address or a letter's text
    # into an exception, which Temporal would store in the workflow history and log.
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A server that does not answer fails a connection in seconds, not after the system's TCP
        # timeout: processes check the database at start, and /readyz asks it every few seconds.
        connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)

    in_memory = parsed.database in (None, "", ":memory:")
    busy_timeout = sqlite_busy_timeout()
    if in_memory:
        # Activities run the database work in worker threads; every thread must see the same
        # in-memory database, so one shared connection.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}, hide_parameters=True
        )
    else:
        # The read model names children's plans and people: a file only this user can read,
        # created so before SQLite opens it (its -wal and -shm files take the same mode).
        create_private_file(Path(str(parsed.database)).expanduser().resolve())
        engine = sa.create_engine(url, connect_args={"timeout": busy_timeout}, hide_parameters=True)

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets the CLI read while the worker writes; the busy timeout makes concurrent
        # writers (several workers on one host) wait instead of failing with "database is locked".
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return engine


def insert_ignore(conn: Connection, table: sa.Table, values: Mapping[str, Any]) -> bool:
    """INSERT unless the primary key is already there; True when a row was inserted."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        result = conn.execute(insert(table).values(**values).on_conflict_do_nothing())
        return result.rowcount == 1
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
        return True
    except sa.exc.IntegrityError:
        return False


def upsert(conn: Connection, table: sa.Table, values: Mapping[str, Any], keys: Iterable[str]) -> None:
    """INSERT, or UPDATE every non-key column when the primary key is already there."""
    keys = list(keys)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={name: stmt.excluded[name] for name in values if name not in keys},
        )
        conn.execute(stmt)
        return
    where = sa.and_(*(table.c[k] == values[k] for k in keys))
    changed = conn.execute(table.update().where(where).values(**{k: v for k, v in values.items() if k not in keys}))
    if changed.rowcount == 0:
        conn.execute(table.insert().values(**values))
