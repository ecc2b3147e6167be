"""Each practitioner's calendar (starters/calendar_ics.py) over HTTP.

- `GET /api/calendar.ics` (bearer): the signed-in person's due dates, `text/calendar`;
- `POST /api/calendar/feed` (bearer): a secret address to subscribe to from Outlook, made anew
  (the old one stops working); `DELETE /api/calendar/feed` revokes it. My work's "Your
  calendar" forms (starters/web/pages.py) make and revoke it with the same `new_feed`,
  `revoke` and `feed_url`;
- `GET /calendar/{token}.ics`: the feed itself. Calendar programs cannot sign in, so the address
  is the secret: only its SHA-256 is stored (a copy of the database subscribes to nothing), it
  is shown once, and it never appears in the audit trail or a log.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response

from activities.db import calendar_feeds, get_engine, upsert
from starters.calendar_ics import due_dates, to_ics
from starters.web import audit
from starters.web.api import SignedIn
from starters.web.api_route import ApiRoute
from starters.web.gateway import ApiError
from worker.identity import MANAGER_ROLES

ICS = "text/calendar; charset=utf-8"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{40,60}$"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _calendar(person: str, manager: bool) -> bytes:
    return to_ics(person, due_dates(person, manager=manager))


def new_feed(staff_id: str, roles: str) -> str:
    token = secrets.token_urlsafe(32)
    with get_engine().begin() as conn:
        upsert(
            conn,
            calendar_feeds,
            {"staff_id": staff_id, "token_sha256": _digest(token), "roles": roles, "created_at": datetime.now(UTC)},
            ["staff_id"],
        )
    return token


def revoke(staff_id: str) -> bool:
    with get_engine().begin() as conn:
        return conn.execute(calendar_feeds.delete().where(calendar_feeds.c.staff_id == staff_id)).rowcount > 0


def feed_made(staff_id: str) -> datetime | None:
    """When the person's current address was made, or None when they have none."""
    with get_engine().connect() as conn:
        made = conn.execute(
            sa.select(calendar_feeds.c.created_at).where(calendar_feeds.c.staff_id == staff_id)
        ).scalar_one_or_none()
    return made if isinstance(made, datetime) else None


def feed_url(request: Request, token: str) -> str:
    """The address to subscribe to: under the service's public address where one is set."""
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/calendar/{token}.ics"


def _feed_owner(token: str) -> tuple[str, bool] | None:
    digest = _digest(token)
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(calendar_feeds).where(calendar_feeds.c.token_sha256 == digest)).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return row.staff_id, bool(set(row.roles.split()) & MANAGER_ROLES)


def build_router() -> APIRouter:
    # The signed-in routes are the API's (sign-in first, problem details, operation ids their
    # names); the subscription address is a calendar program's, with its secret in the path.
    router = APIRouter()
    api = APIRouter(route_class=ApiRoute, generate_unique_id_function=lambda route: route.name)

    @api.get(
        "/api/calendar.ics",
        name="calendar",
        summary="the signed-in person's due dates as iCalendar events",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {}}}, 401: {"description": "no valid bearer token"}},
    )
    async def my_calendar(request: Request, who: SignedIn) -> Response:
        audit.note(request.scope, action="calendar")
        body = await asyncio.to_thread(_calendar, who.staff_id, who.manager)
        return Response(body, media_type=ICS)

    @api.post("/api/calendar/feed", name="calendar-feed", summary="a new secret calendar address (the old stops)")
    async def make_feed(request: Request, who: SignedIn) -> dict[str, str]:
        if not who.person:
            raise ApiError(403, "Forbidden", "a calendar is a person's")
        audit.note(request.scope, action="calendar-feed", outcome="made")
        token = await asyncio.to_thread(new_feed, who.staff_id, " ".join(sorted(who.roles)))
        return {"url": feed_url(request, token), "note": "shown once: keep it as you would a password"}

    @api.delete("/api/calendar/feed", name="calendar-feed-revoke", summary="stop the secret calendar address")
    async def revoke_feed(request: Request, who: SignedIn) -> dict[str, bool]:
        revoked = await asyncio.to_thread(revoke, who.staff_id)
        audit.note(request.scope, action="calendar-feed-revoke", outcome="revoked" if revoked else "none")
        return {"revoked": revoked}

    @router.get("/calendar/{token}.ics", name="calendar-subscription", include_in_schema=False)
    async def subscribed(request: Request, token: str) -> Response:
        owner = await asyncio.to_thread(_feed_owner, token) if len(token) <= 64 else None
        if owner is None:
            audit.note(request.scope, outcome="no such feed")
            return Response("no such calendar\n", status_code=404, media_type="text/plain")
        staff_id, manager = owner
        audit.note(request.scope, who=staff_id, action="calendar-subscription")
        body = await asyncio.to_thread(_calendar, staff_id, manager)
        return Response(body, media_type=ICS)

    router.include_router(api)
    return router
