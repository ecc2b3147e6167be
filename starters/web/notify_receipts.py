"""`POST /api/notify/receipts`: GOV.UK Notify's delivery receipts (its callbacks).

Notify sends each message's status here with the bearer token the service was given
(`CPPLAN_NOTIFY_CALLBACK_TOKEN`; no staff sign-in: the caller is Notify). A failure that is
final means the person was not told: the plan gets `record_delivery_failure`, and the next
person up is told (activities/receipts.py). Without the token configured the route answers 404.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from activities import receipts
from activities.db import get_engine
from starters.web import audit
from starters.web.gateway import ApiError
from worker.identity import bearer

Short = Annotated[str, StringConstraints(max_length=100)]


class Receipt(BaseModel):
    """GOV.UK Notify's callback, as it documents it; fields it may add later are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: Short
    reference: Short | None = None
    to: Annotated[str, StringConstraints(max_length=320)]
    status: Annotated[str, StringConstraints(max_length=40, pattern=r"^[a-z-]+$")]
    created_at: Short | None = None
    completed_at: Short | None = None
    sent_at: Short | None = None
    notification_type: Annotated[str, StringConstraints(pattern=r"^(email|sms|letter)$")]


def callback_token() -> str | None:
    return os.environ.get("CPPLAN_NOTIFY_CALLBACK_TOKEN", "").strip() or None


def _check_caller(request: Request) -> None:
    expected = callback_token()
    if expected is None:
        raise ApiError(404, "NotFound", "delivery receipts are not enabled (CPPLAN_NOTIFY_CALLBACK_TOKEN)")
    given = bearer(request.headers.get("authorization"))
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "NotSignedIn", "the callback bearer token is missing or wrong")


def build_router() -> APIRouter:
    # GOV.UK Notify's callback, signed in with its own token: not the case systems' API, so not
    # in /api/openapi.json (its failures are problem details all the same).
    router = APIRouter(prefix="/api/notify", include_in_schema=False)

    @router.post(
        "/receipts",
        name="notify-receipt",
        summary="GOV.UK Notify's delivery receipt (callback bearer token)",
        responses={
            401: {"description": "no or the wrong callback token"},
            404: {"description": "no such message (or receipts not enabled)"},
            503: {"description": "the plan could not be told; Notify sends the receipt again"},
        },
    )
    async def receipt(request: Request, body: Annotated[Receipt, Body()]) -> dict[str, Any]:
        _check_caller(request)
        audit.note(request.scope, who="gov-uk-notify", action="notify-receipt")
        engine = await asyncio.to_thread(get_engine)
        known, tell = await asyncio.to_thread(receipts.apply_receipt, engine, body.id, body.reference, body.status)
        if not known:
            audit.note(request.scope, outcome="unknown message")
            raise ApiError(404, "NotFound", "no message with that id or reference was sent from here")
        told = False
        if tell is not None:
            gw = await request.app.state.gateway()
            told = await receipts.tell_plans(gw.client, engine, [tell]) == 1 or not tell.key.startswith(
                f"{tell.plan_id}:"
            )
            if not told:
                raise ApiError(503, "Unavailable", "the plan could not be told; send the receipt again")
        audit.note(request.scope, plan_id=tell.plan_id if tell else None, outcome=body.status)
        return {"status": body.status, "plan_told": told}

    return router
