"""Signing in to the pages through an identity provider (authorization code flow with PKCE),
against a small provider served for the test; tokens checked with keys from its JWKS URL."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from starters.web import audit
from starters.web.devkey import DevKey, ensure_dev_key
from starters.web.server import start_embedded, stop_embedded
from starters.web.settings import WebSettings
from tests.web.conftest import free_port

CLIENT_ID = "cpplan-pages"


def provider_app(key: DevKey, issuer: str, staff_id: str, roles: list[str]) -> FastAPI:
    app = FastAPI()
    grants: dict[str, dict[str, str]] = {}

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, str]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
        }

    @app.get("/jwks")
    async def jwks() -> Any:
        import json

        return json.loads(key.jwks_path.read_text())

    @app.get("/authorize")
    async def authorize(request: Request) -> RedirectResponse:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["code_challenge_method"] == "S256"
        code = uuid.uuid4().hex
        grants[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=303)

    @app.post("/token")
    async def token(
        code: str = Form(), code_verifier: str = Form(), redirect_uri: str = Form(), client_id: str = Form()
    ) -> JSONResponse:
        grant = grants.pop(code, None)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        if grant is None or digest != grant["challenge"] or redirect_uri != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {"iss": issuer, "aud": client_id, "sub": staff_id, "staff_id": staff_id, "roles": roles}
        claims |= {"nonce": grant["nonce"], "iat": now, "exp": now + 300}
        return JSONResponse({"id_token": key.sign(claims), "token_type": "Bearer"})

    return app


@pytest.fixture
async def signed_in_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    from activities.db import reset_engine_cache

    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cpplan.db'}")
    reset_engine_cache()
    key = ensure_dev_key(tmp_path / "idp")
    idp_port = free_port()
    issuer = f"http://127.0.0.1:{idp_port}"

    async def no_temporal() -> Any:
        raise AssertionError("these pages do not need Temporal")

    idp, idp_task = await start_embedded(
        no_temporal, "127.0.0.1", idp_port, app=provider_app(key, issuer, "tm-7", ["team-manager"])
    )
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    settings = WebSettings(
        issuer=issuer,
        audience="cpplan",
        jwks_url=f"{issuer}/jwks",
        jwks_file=None,
        staff_claim="staff_id",
        session_secret="test-" + uuid.uuid4().hex,
        deadline_s=5,
        dev_key=False,
    )
    settings = replace(settings, client_id=CLIENT_ID, public_url=web_url)
    web, web_task = await start_embedded(no_temporal, "127.0.0.1", web_port, settings)
    try:
        yield web_url, issuer
    finally:
        await stop_embedded(web, web_task)
        await stop_embedded(idp, idp_task)
        reset_engine_cache()


async def test_sign_in_through_the_identity_provider(signed_in_site: tuple[str, str]) -> None:
    web_url, issuer = signed_in_site
    async with httpx.AsyncClient(base_url=web_url, timeout=30) as http:
        page = await http.get("/sign-in")
        assert 'href="/sign-in/oidc"' in page.text and "Development only" not in page.text
        assert (await http.get("/work")).headers["location"] == "/sign-in"

        to_idp = await http.get("/sign-in/oidc")
        assert to_idp.status_code == 303 and to_idp.headers["location"].startswith(f"{issuer}/authorize?")
        query = parse_qs(urlsplit(to_idp.headers["location"]).query)
        assert query["redirect_uri"] == [f"{web_url}/sign-in/callback"]
        back = await http.get(to_idp.headers["location"])
        assert back.status_code == 303
        done = await http.get(back.headers["location"])
        assert done.status_code == 303, done.text
        cookie = done.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie

        team = await http.get("/team")
        assert team.status_code == 200 and "tm-7" in team.text
        # A replayed answer from the provider (same code and state) is refused.
        again = await http.get(back.headers["location"])
        assert again.status_code == 400
    assert ("tm-7", "sign-in", 303) in {(r["who"], r["action"], r["status"]) for r in audit.rows()}
