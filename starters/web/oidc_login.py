"""Signing people in to the pages with the council's identity provider: the OpenID Connect
authorization code flow with PKCE, a state and a nonce. The ID token is checked like a bearer
token (signature, issuer, expiry), its audience being the pages' client id; the person and
roles then live in the signed session cookie."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from starters.web.gateway import ApiError
from starters.web.settings import WebSettings

DISCOVERY_TTL_S = 3600
TIMEOUT = aiohttp.ClientTimeout(total=10)
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


async def _discovery(issuer: str) -> dict[str, Any]:
    cached = _discovered.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as resp:
            resp.raise_for_status()
            doc = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise ApiError(503, "Unavailable", "the sign-in service cannot be reached") from None
    _discovered[issuer] = (time.monotonic(), doc)
    return dict(doc)


def redirect_uri(settings: WebSettings, base_url: str) -> str:
    return f"{settings.public_url or base_url.rstrip('/')}/sign-in/callback"


async def start(settings: WebSettings, session: dict[str, Any], base_url: str) -> str:
    """Remember state, nonce and PKCE verifier in the session; return the provider's URL."""
    if not settings.client_id:
        raise ApiError(404, "NotFound", "sign-in with the identity provider is not configured")
    doc = await _discovery(settings.issuer)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": verifier}
    session["oidc"] = pending
    query = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": redirect_uri(settings, base_url),
        "scope": "openid profile",
        "state": pending["state"],
        "nonce": pending["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{doc['authorization_endpoint']}?{urlencode(query)}"


async def finish(
    settings: WebSettings, session: dict[str, Any], base_url: str, code: str, state: str
) -> tuple[str, str]:
    """Exchange the code for tokens; returns the ID token (the caller verifies it) and the nonce
    it must carry."""
    pending = session.pop("oidc", None)
    if not pending or not secrets.compare_digest(str(pending.get("state", "")), state) or not code:
        raise ApiError(400, "BadRequest", "the sign-in has expired: start again")
    doc = await _discovery(settings.issuer)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings, base_url),
        "client_id": settings.client_id or "",
        "code_verifier": pending["verifier"],
    }
    if settings.client_secret:
        form["client_secret"] = settings.client_secret
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.post(doc["token_endpoint"], data=form) as resp:
            if resp.status != 200:
                raise ApiError(403, "Forbidden", "the sign-in service refused the sign-in")
            tokens = await resp.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise ApiError(503, "Unavailable", "the sign-in service cannot be reached") from None
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise ApiError(403, "Forbidden", "the sign-in service gave no ID token")
    return id_token, str(pending["nonce"])
