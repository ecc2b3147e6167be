"""The audit trail: every request to the API and the pages, reads included (who looked at
which child's plan), with who, what, which plan, when and the outcome.

Rows go to the `audit` table of the read-model database (`CPPLAN_DATABASE_URL`; the table is
declared in activities/db.py and created by its migrations). Only opaque
references are kept: staff ids, plan ids, the action's name; never a payload.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from activities.db import audit, get_engine
from starters.web import problems
from workflows.models import REF_PATTERN

log = structlog.get_logger("cpplan.audit")
REF = re.compile(REF_PATTERN)


def _engine() -> Engine:
    return get_engine()  # its schema, the audit table included, is checked on first use


def write(row: dict[str, Any]) -> None:
    with _engine().begin() as conn:
        conn.execute(audit.insert().values(**row))


def rows(plan_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(audit).order_by(audit.c.id)
    if plan_id is not None:
        query = query.where(audit.c.plan_id == plan_id)
    with _engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def note(scope: MutableMapping[str, Any], **fields: Any) -> None:
    """Let the handler say who asked and what came of it; the middleware writes the row."""
    scope.setdefault("state", {}).setdefault("audit", {}).update(fields)


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

# Not audited: the stylesheet, and the health probes (starters/web/health.py), which carry no
# person and are asked every few seconds (and /healthz must answer while the database is down).
SKIP_PREFIXES = ("/static/", "/favicon")
SKIP_PATHS = ("/healthz", "/readyz")


class AuditMiddleware:
    """Writes one audit row per request before its response starts: nobody gets an answer the
    trail does not hold. A row that cannot be written turns the answer into a 503 (logged
    without its content)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SKIP_PREFIXES) or scope["path"] in SKIP_PATHS:
            await self.app(scope, receive, send)
            return
        state = {"started": False, "swallow": False}

        async def audited_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                if not await self._record(scope, message["status"]):
                    state["swallow"] = True
                    await _unavailable(scope, send)
                    return
            if not state["swallow"]:
                await send(message)

        try:
            await self.app(scope, receive, audited_send)
        finally:
            if not state["started"]:  # the app failed before answering; the server sends a 500
                await self._record(scope, 500)

    async def _record(self, scope: Scope, code: int) -> bool:
        noted = scope.get("state", {}).get("audit", {})
        route = scope.get("route")
        params = scope.get("path_params") or {}
        row = {
            "at": datetime.now(UTC),
            "who": noted.get("who"),
            "roles": noted.get("roles"),
            "via": "api" if scope["path"].startswith("/api/") else "page",
            "method": scope.get("method", "GET"),
            "action": noted.get("action") or getattr(route, "name", None) or "(no route)",
            # A plan id the route refused (control characters, spaces, ...) is not kept as sent.
            "plan_id": _plan_ref(noted.get("plan_id") or params.get("plan_id")),
            "status": code,
            "outcome": noted.get("outcome") or _outcome(code),
        }
        try:
            await asyncio.to_thread(write, row)
        except Exception as err:
            log.error("audit row not written", action=row["action"], status=code, error=type(err).__name__)
            return False
        return True


def _plan_ref(value: Any) -> str | None:
    return value if isinstance(value, str) and REF.fullmatch(value) else None


async def _unavailable(scope: Scope, send: Any) -> None:
    problem = problems.body(503, "Unavailable", "the request could not be audited", [], scope["path"])
    body = json.dumps(problem).encode()
    headers = [
        (b"content-type", problems.MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(problems.RETRY_AFTER_S).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _outcome(code: int) -> str:
    return {200: "ok", 201: "created", 202: "accepted", 303: "redirected", 401: "not signed in", 403: "forbidden"}.get(
        code, "error" if code >= 500 else "refused" if code >= 400 else "ok"
    )
