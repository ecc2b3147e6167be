"""The API's routes: who is asking is settled before the body is read, and the body must be
JSON.

In order, for every `/api` route: the bearer token (401, and the sign-in rate limits: 429), for
a route that writes to a plan the signed-in person's right to write at all (403 for `ops`), then for a route that takes a body its
content type (415 unless `application/json` or `…+json`) and its bytes (400 unless UTF-8 JSON),
then the handler (422 for a field at fault). So a refusal of any kind has its audit row's `who`,
and a body that is not JSON is one problem (400), whatever is wrong with it.

Numbers are read as JSON Schema reads them: `10.0` is the integer 10 (a fraction is still
refused where a whole number is wanted); NaN and Infinity are not JSON and are refused.
"""

from __future__ import annotations

import asyncio
import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from starters.web import audit
from starters.web.gateway import ApiError, forbidden
from starters.web.limits import check_failed_sign_ins, check_identity, count_failed_sign_in
from worker.identity import Identity, NotSignedIn, bearer

IDENTITY = "identity"  # where the signed-in person is kept in the request's state


def _number(text: str) -> Any:
    value = float(text)
    return int(value) if value.is_integer() and abs(value) <= 2**53 else value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), parse_float=_number, parse_constant=_not_json)


class ApiRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


async def sign_in(request: Request) -> Identity:
    """The bearer token's person (kept for the handler and the audit row); 401 without one."""
    found = getattr(request.state, IDENTITY, None)
    if isinstance(found, Identity):
        return found
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise ApiError(401, "NotSignedIn", "a bearer token is required")
    limits = request.app.state.limits
    check_failed_sign_ins(limits, request.scope)
    try:
        who: Identity = await asyncio.to_thread(request.app.state.verifier.verify, token)
    except NotSignedIn as err:
        count_failed_sign_in(limits, request.scope)  # bad tokens count against the address
        raise ApiError(401, "NotSignedIn", str(err)) from None
    setattr(request.state, IDENTITY, who)
    audit.note(request.scope, who=who.staff_id, roles=" ".join(sorted(who.roles)))
    check_identity(limits, who.staff_id)
    return who


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class ApiRoute(APIRoute):
    # A route that writes to a plan: `ops` read, and never write to one (403 before the body
    # is read, whatever it holds).
    writes = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        takes_body = self.body_field is not None

        async def route_handler(request: Request) -> Response:
            request = ApiRequest(request.scope, request.receive)
            who = await sign_in(request)
            if self.writes and not who.writes:
                raise forbidden("ops read plans; they never write to one")
            if takes_body:
                if not is_json(request.headers.get("content-type")):
                    raise ApiError(415, "UnsupportedMediaType", "send the body as application/json")
                raw = await request.body()
                if not raw.strip():
                    raise ApiError(400, "Malformed", "the body is empty: send a JSON object")
                try:
                    await request.json()
                except (UnicodeDecodeError, ValueError, RecursionError):
                    raise ApiError(400, "Malformed", "the body is not JSON (UTF-8)") from None
            return await handle(request)

        return route_handler


class WriterRoute(ApiRoute):
    writes = True
