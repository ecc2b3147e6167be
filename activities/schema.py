"""The read model's schema version: Alembic revisions (activities/migrations) and what a process
does about them when it first opens the database.

- `cpplan db upgrade` takes any database to the newest revision ("head"): an empty one is built
  by the revisions in order; one created before migrations existed (it has `plans` but no
  `alembic_version`) is *adopted*: stamped at the first release's revision, after which each
  later revision adds only what that database lacks, keeping every row.
- Opening a database (`activities.db.get_engine`) checks its revision. In production
  (`CPPLAN_ENV=production`) a database behind this release is refused with "run `cpplan db
  upgrade`" (a DBA or the deployment's migration job does that, once, before the rollout);
  elsewhere (`cpplan dev`, a laptop's SQLite, tests) it is upgraded there and then.
- A database *ahead* of this release (the next release's migration job ran first, mid-rollout)
  is used as it is: revisions only add, so the previous release keeps working on it.

Concurrent upgrades (several worker processes starting at once) wait for each other: an
advisory lock on PostgreSQL, a lock file beside a SQLite file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from activities.private_files import create_private_file

# The standard library's logger: quiet unless the process configured logging (the worker and the
# servers do), so commands that print JSON keep their standard output to themselves.
log = logging.getLogger("cpplan.schema")
# Alembic says "Context impl SQLiteImpl" at INFO each time a database is looked at: only its
# warnings reach the workers' logs; this module logs each upgrade in one line.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision matching the first release's tables, at which a database from before migrations is
# stamped; every later revision skips what such a database already has.
BASELINE = "0001"
# Any fixed number: PostgreSQL's advisory lock that serialises upgrades of one database.
ADVISORY_LOCK = 0x63707061  # "cppa"

_local_lock = threading.Lock()


class DatabaseUnreachable(Exception):
    """The database did not answer; the message names it without its password."""


class SchemaBehind(Exception):
    """The database is older than this release and may not be upgraded by this process."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the database's revision; None: no alembic_version (empty, or from before migrations)
    head: str
    known: bool  # the revision is one of this release's
    has_tables: bool

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def ahead(self) -> bool:
        """Stamped by a later release (its migration job ran before this process started)."""
        return self.current is not None and not self.known

    @property
    def usable(self) -> bool:
        return self.at_head or self.ahead

    def describe(self) -> str:
        if self.at_head:
            return f"at {self.head} (this release's)"
        if self.ahead:
            return f"at {self.current}, newer than this release's {self.head}"
        if self.current is None:
            return "from before migrations" if self.has_tables else "empty"
        return f"at {self.current}, behind this release's {self.head}"


def config(connection: Connection | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge them")
    return heads[0]


def inspect(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        return _state(conn)


def _state(conn: Connection) -> SchemaState:
    current = MigrationContext.configure(conn).get_current_revision()
    known = current is not None and _known(current)
    has_tables = sa.inspect(conn).has_table("plans")
    return SchemaState(current=current, head=head(), known=known, has_tables=has_tables)


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:
        return False


def auto_upgrade() -> bool:
    """Whether opening a database behind this release upgrades it (not in production)."""
    return os.environ.get("CPPLAN_ENV", "").strip().lower() != "production"


def ensure(engine: Engine) -> SchemaState:
    """On first opening `engine` (activities.db.get_engine): a database this release can use, or
    SchemaBehind saying what to run."""
    state = inspect(engine)
    if state.usable:
        if state.ahead:
            log.info("database schema %s is newer than this release's %s", state.current, state.head)
        return state
    if not auto_upgrade():
        raise SchemaBehind(
            f"the read model's schema is {state.describe()}: run `cpplan db upgrade` before starting this release"
        )
    return upgrade(engine)


def upgrade(engine: Engine) -> SchemaState:
    """Take the database to head (adopting one from before migrations); returns its new state."""
    with _upgrade_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        before = _state(conn)  # again, under the lock: another process may have done it meanwhile
        if before.usable:
            return before
        cfg = config(conn)
        if before.current is None and before.has_tables:
            log.info("adopting a read model from before migrations at revision %s", BASELINE)
            command.stamp(cfg, BASELINE)
        command.upgrade(cfg, "head")
        after = _state(conn)
    # A new, empty database (a laptop's first run, a test's) is no news; an existing one changed is.
    level = logging.INFO if before.has_tables else logging.DEBUG
    log.log(level, "database schema upgraded from %s to %s", before.current or "nothing", after.current)
    return after


def upgrade_sql(url: str) -> None:
    """Print the SQL that takes an empty database of `url`'s dialect to head, for review."""
    command.upgrade(config(url=url), "head", sql=True)


@contextlib.contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[None]:
    """One upgrade at a time: in this process, and between processes sharing a SQLite file
    (PostgreSQL's advisory lock is taken inside the transaction)."""
    with _local_lock:
        database = engine.url.database
        if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            yield
            return
        lock_path = Path(f"{Path(database).expanduser().resolve()}.migrate-lock")
        create_private_file(lock_path)
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
