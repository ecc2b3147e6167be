"""Bounds on what one client can make the front door do: the size of a request body, how deeply
its JSON nests, and how many requests an address or a person may make.

`RequestLimits` is ASGI middleware, so a request over a limit is answered before anything reads
its body or checks its token: a body whose Content-Length is over `max_body` gets 413 at once,
and a body sent in chunks is counted as it comes and refused as soon as it passes the limit
(nothing past the limit is kept). A JSON body is then checked for depth before the app parses it
(a parser meets deep nesting as a RecursionError, a 500).

The rate limits are counted in this process (`RateLimiter`): behind several instances each
counts its own requests, so an address may make up to N times the limit across N instances
(README, "Limits").
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from typing import Any

from starters.web.gateway import ApiError
from starters.web.settings import WebSettings

MINUTE_S = 60.0
FAILED_SIGN_IN_WINDOW_S = 600.0
# Keys kept before expired ones are let go: one per address or person seen in the window.
PRUNE_AT = 10_000
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_BRACKET = re.compile(rb"[\[\]{}]")


class RateLimiter:
    """At most `limit` hits per key in each window of `window_s` seconds (a window starts at a
    key's first hit). `limit` 0: no limit."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, count = self._counts.get(key, (now, 0))
        return (now, 0) if now - start >= self.window_s else (start, count)

    def wait(self, key: str) -> float | None:
        """Seconds until `key` may try again, if it is over the limit now (counts nothing)."""
        if self.limit <= 0:
            return None
        now = self.clock()
        start, count = self._current(key, now)
        return start + self.window_s - now if count >= self.limit else None

    def hit(self, key: str) -> float | None:
        """Count one for `key`; None if it is within the limit, else seconds until it may try
        again (a refused hit is not counted)."""
        if self.limit <= 0:
            return None
        now = self.clock()
        start, count = self._current(key, now)
        if count >= self.limit:
            return start + self.window_s - now
        self._counts[key] = (start, count + 1)
        if len(self._counts) > PRUNE_AT:
            self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window_s}
        return None


class Limits:
    """The front door's limiters, one set per process."""

    def __init__(self, settings: WebSettings):
        self.settings = settings
        self.per_address = RateLimiter(settings.rate_per_address, MINUTE_S)
        self.per_identity = RateLimiter(settings.rate_per_identity, MINUTE_S)
        self.failed_sign_ins = RateLimiter(settings.failed_sign_ins, FAILED_SIGN_IN_WINDOW_S)


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def too_many(detail: str, wait: float) -> ApiError:
    return ApiError(429, "TooManyRequests", detail, headers={"Retry-After": retry_after(wait)})


def check_failed_sign_ins(limits: Limits, scope: Any) -> None:
    """429 while this address has failed to sign in (or sent bad tokens) too often."""
    wait = limits.failed_sign_ins.wait(client_address(scope))
    if wait is not None:
        raise too_many("too many failed sign-ins from this address: try again later", wait)


def count_failed_sign_in(limits: Limits, scope: Any) -> None:
    limits.failed_sign_ins.hit(client_address(scope))


def check_identity(limits: Limits, staff_id: str) -> None:
    """429 when this person (or case system) has made too many requests this minute."""
    wait = limits.per_identity.hit(staff_id)
    if wait is not None:
        raise too_many(f"too many requests from {staff_id}: try again later", wait)


def client_address(scope: Any) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects more than `limit` deep (strings skipped, so a
    bracket inside one does not count). Read without parsing, since that is what deep nesting
    breaks, and in time linear in the body whatever it holds: escaped backslashes, then escaped
    quotes, are dropped, so the text between unescaped quotes alternates outside and inside
    strings."""
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b" ".join(unescaped.split(b'"')[::2])
    depth = 0
    for bracket in _BRACKET.finditer(outside):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"[", b"{")


class RequestLimits:
    def __init__(self, app: Any, limits: Limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.limits.settings
        wait = self.limits.per_address.hit(client_address(scope))
        if wait is not None:
            await _refuse(
                scope, send, 429, "TooManyRequests", "too many requests from this address: try again later", wait
            )
            return
        if scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is over {settings.max_body} bytes"
        declared = _content_length(scope)
        if declared is not None and declared > settings.max_body:
            await _refuse(scope, send, 413, "TooLarge", too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > settings.max_body:
                await _refuse(scope, send, 413, "TooLarge", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _looks_like_json(body) and nests_deeper_than(body, settings.max_json_depth):
            reason = f"nests deeper than {settings.max_json_depth} levels"
            await _refuse(scope, send, 422, "Refused", f"(payload): {reason}", field=("(payload)", reason))
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Any) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(
    scope: Any,
    send: Any,
    status: int,
    kind: str,
    detail: str,
    wait: float | None = None,
    field: tuple[str, str] | None = None,
) -> None:
    """A problem (RFC 9457, starters/web/problems.py) as every API failure is; pages get the
    same words."""
    from starters.web import audit, problems

    audit.note(scope, outcome={413: "too large", 429: "too many requests"}.get(status, "refused"))
    errors = [{"field": field[0], "reason": field[1]}] if field else []
    body = json.dumps(problems.body(status, kind, detail, errors, scope.get("path", ""))).encode()
    headers = [
        (b"content-type", problems.MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    if wait is not None:
        headers.append((b"retry-after", retry_after(wait).encode()))
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
