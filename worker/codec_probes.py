"""The codec server's probes (worker/health.py): `/healthz` while it runs; `/readyz` when its
keys are loaded and, with an identity provider configured (`CPPLAN_OIDC_ISSUER` and
`CPPLAN_OIDC_JWKS_URL`), the issuer's keys answer. No token is needed and nothing about any
payload is said. The codec server holds no database or Temporal credentials, so its readiness
asks neither.
"""

from __future__ import annotations

import os

import aiohttp
from aiohttp import web

from worker.health import Checks, add_routes

JWKS_TIMEOUT_S = 3


def add_probes(app: web.Application) -> None:
    """The probes on the codec server's application, built with its keys and token (it refuses
    to start without them)."""
    jwks_url = os.environ.get("CPPLAN_OIDC_JWKS_URL", "").strip() if os.environ.get("CPPLAN_OIDC_ISSUER") else ""

    async def ready() -> Checks:
        checks = {"keys": "ok"}
        if jwks_url:
            checks["issuer"] = await _jwks_check(jwks_url)
        return checks

    add_routes(app, ready)


async def _jwks_check(url: str) -> str:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=JWKS_TIMEOUT_S)) as session,
            session.get(url) as response,
        ):
            return "ok" if response.status == 200 else f"unreachable (HTTP {response.status})"
    except Exception as err:
        return f"unreachable ({type(err).__name__})"
