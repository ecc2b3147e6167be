"""Signed-in sessions that sign-out ends for good.

The pages' session lives in a signed cookie, which the server cannot take back: a copy kept
after signing out would still be signed. So each sign-in gives the session an id, and signing
out writes that id to the `revoked_sessions` table of the read-model database
(`CPPLAN_DATABASE_URL`), which every instance of the front door reads: a revoked id is not
signed in anywhere. An id is kept until its cookie would have expired anyway (SESSION_MAX_AGE_S).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from activities.db import get_engine, insert_ignore, revoked_sessions

SESSION_MAX_AGE_S = 8 * 3600


def _engine() -> Engine:
    # The table comes with the read model's schema (activities/migrations, revision 0005).
    return get_engine()


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def revoke(session_id: str) -> None:
    now = datetime.now(UTC)
    with _engine().begin() as conn:
        insert_ignore(
            conn,
            revoked_sessions,
            {
                "session_id": session_id,
                "revoked_at": now,
                "expires_at": now + timedelta(seconds=SESSION_MAX_AGE_S),
            },
        )
        conn.execute(revoked_sessions.delete().where(revoked_sessions.c.expires_at < now))


def is_revoked(session_id: str) -> bool:
    with _engine().connect() as conn:
        found = conn.execute(
            sa.select(revoked_sessions.c.session_id).where(revoked_sessions.c.session_id == session_id)
        ).first()
    return found is not None
