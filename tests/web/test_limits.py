"""The front door's bounds, through the real app on a real port: bodies over the limit and JSON
nested too deep are refused before the token is looked at, a date in 9999 is a 422, a `roles`
claim that is not a list of strings signs nobody in, signing out ends the session everywhere
(a copy of the cookie too), and too many requests (or failed sign-ins) get 429 with Retry-After."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx

from starters.web import audit
from starters.web.limits import nests_deeper_than
from starters.web.server import start_embedded, stop_embedded
from starters.web.settings import DEFAULT_MAX_BODY
from tests.web.conftest import Web, free_port


async def _raw_post(web: Web, head: bytes, chunks: Iterator[bytes]) -> bytes:
    """POST over a plain socket, writing `chunks` one by one until the server answers: what it
    answers, read before the rest of the body is sent (as a client that waits for an early
    answer, such as curl, would)."""
    host, port = web.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head)
        for chunk in chunks:
            try:
                return await asyncio.wait_for(reader.read(65536), timeout=0.2)
            except TimeoutError:
                writer.write(chunk)
                await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()


async def test_a_body_over_the_limit_is_413_before_it_is_read_or_the_token_checked(web: Web) -> None:
    # 20 MB declared: refused on the headers, before a byte of the body is sent.
    head = b"POST /api/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    answer = await _raw_post(web, head + f"Content-Length: {20 * 1024 * 1024}\r\n\r\n".encode(), iter([b"{" * 1024]))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"content-type: application/problem+json" in answer.lower()
    assert b'"type": "https://cpplan.invalid/problems/too-large"' in answer and str(DEFAULT_MAX_BODY).encode() in answer

    # Sent in chunks with no Content-Length: counted as it comes, refused once past the limit.
    def chunked() -> Iterator[bytes]:
        for _ in range(1024):
            yield b"4000\r\n" + b" " * 0x4000 + b"\r\n"

    sent = 0

    def counted() -> Iterator[bytes]:
        nonlocal sent
        for chunk in chunked():
            sent += 0x4000
            yield chunk

    answer = await _raw_post(web, head + b"Transfer-Encoding: chunked\r\n\r\n", counted())
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert sent < 2 * DEFAULT_MAX_BODY  # not the 16 MB the client meant to send

    # Under the limit, the same request meets the token check as before.
    async with web.http() as http:
        r = await http.post("/api/plans", json={"plan_id": "x"})
        assert r.status_code == 401
    assert [row["status"] for row in audit.rows()] == [413, 413, 401]


async def test_json_nested_too_deep_is_refused_not_a_recursion_error(web: Web) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    async with web.http() as http:
        for headers in ({}, web.auth("case-sys-1", "case-system")):
            r = await http.post("/api/plans", content=deep, headers={"content-type": "application/json", **headers})
            assert r.status_code == 422
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json() == {
                "type": "https://cpplan.invalid/problems/refused",
                "title": "Refused: nothing was changed",
                "status": 422,
                "detail": "(payload): nests deeper than 32 levels",
                "instance": "/api/plans",
                "errors": [{"field": "(payload)", "reason": "nests deeper than 32 levels"}],
            }
        # A bracket inside a string is text, not nesting.
        r = await http.post(
            "/api/plans",
            json={"plan_id": "[" * 100, "child_ref": "{" * 100},
            headers=web.auth("case-sys-1", "case-system"),
        )
        assert r.status_code == 422 and "nests" not in r.text


async def test_an_icpc_in_9999_is_a_422_naming_the_field(web: Web, plan_doc: dict[str, Any]) -> None:
    async with web.http() as http:
        for field in ("icpc_date", "first_review_date"):
            doc = {**plan_doc, field: "9999-12-31"}
            r = await http.post("/api/plans", json=doc, headers=web.auth("case-sys-1", "case-system"))
            assert r.status_code == 422, r.text
            assert {"field": field, "reason": "must be a date between 1900-01-01 and 2100-12-31"} in r.json()["errors"]
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth("case-sys-1", "case-system"))
        assert r.status_code == 201, r.text
        r = await http.post(
            f"/api/plans/{plan_doc['plan_id']}/schedule-meeting",
            json={"kind": "core_group", "date": "9999-12-31"},
            headers=web.auth("sw-demo", "social-worker"),
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [{"field": "date", "reason": "must be a date between 1900-01-01 and 2100-12-31"}]


async def test_roles_must_be_a_list_of_strings(web: Web) -> None:
    def token(roles: Any) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": web.settings.issuer,
            "aud": web.settings.audience,
            "staff_id": "tm-demo",
            "roles": roles,
            "iat": now,
            "exp": now + 600,
        }
        return {"Authorization": f"Bearer {web.key.sign(claims)}"}

    async with web.http() as http:
        for roles in ({"team-manager": False}, "team-manager", [["team-manager"]], ["team-manager", 1]):
            r = await http.get("/api/work", headers=token(roles))
            assert r.status_code == 401, roles
            assert r.json()["detail"] == "the token's 'roles' claim must be a list of strings"
        r = await http.get("/api/work", headers=token(["team-manager"]))
        assert r.status_code == 200


async def _sign_in(http: httpx.AsyncClient, staff_id: str) -> None:
    page = await http.get("/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await http.post("/sign-in/dev", data={"staff_id": staff_id, "csrf_token": csrf.group(1)})
    assert r.status_code == 303


async def test_signing_out_ends_the_session_for_a_copy_of_the_cookie_too(web: Web) -> None:
    async with web.http() as http:
        await _sign_in(http, "sw-demo")
        assert (await http.get("/work")).status_code == 200
        kept = http.cookies["cpplan_session"]  # what someone who copied the cookie holds
        page = await http.get("/work")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        r = await http.post("/sign-out", data={"csrf_token": csrf.group(1)})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"

    async with web.http() as copy:
        copy.cookies.set("cpplan_session", kept)
        r = await copy.get("/work")
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
        # Signing in again is a new session, which works.
        await _sign_in(copy, "sw-demo")
        assert (await copy.get("/work")).status_code == 200


@asynccontextmanager
async def _served(web: Web, **limits: int) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the front door, with limits of its own."""

    async def connect() -> Any:
        return web.env.client

    port = free_port()
    server, task = await start_embedded(connect, "127.0.0.1", port, replace(web.settings, **limits))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield http
    finally:
        await stop_embedded(server, task)


async def test_too_many_requests_get_429_with_retry_after(web: Web) -> None:
    async with _served(web, rate_per_identity=5) as http:
        manager = web.auth("tm-demo", "team-manager")
        codes = [(await http.get("/api/work", headers=manager)).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = await http.get("/api/work", headers=manager)
        assert r.status_code == 429 and r.json()["type"] == "https://cpplan.invalid/problems/too-many-requests"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # Another person is not held back by the first.
        assert (await http.get("/api/work", headers=web.auth("tm-2", "team-manager"))).status_code == 200

    async with _served(web, rate_per_address=3) as http:
        codes = [(await http.get("/api/work")).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429] and "retry-after" in (await http.get("/api/work")).headers


async def test_bad_tokens_and_failed_sign_ins_count_against_the_address(web: Web) -> None:
    async with _served(web, failed_sign_ins=3) as http:
        bad = {"Authorization": "Bearer not-a-token"}
        codes = [(await http.get("/api/work", headers=bad)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # While the address is held back, even a good token waits.
        r = await http.get("/api/work", headers=web.auth("tm-demo", "team-manager"))
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
        assert "failed sign-ins" in r.json()["detail"]


def test_the_depth_check_takes_linear_time_whatever_the_strings_hold() -> None:
    """Escaped quotes and backslashes are read as JSON reads them, and a body of nothing but
    escaped quotes (which would send a backtracking pattern quadratic) is read in a moment."""
    assert nests_deeper_than(b'["\\\\"' + b"[" * 40, 32)  # the string ends after the escaped backslash
    assert not nests_deeper_than(b'["\\"' + b"[" * 40 + b'"]', 32)  # the brackets are inside it
    started = time.perf_counter()
    assert not nests_deeper_than(b'["' + b'\\"' * 130_000, 32)
    assert time.perf_counter() - started < 1.0
