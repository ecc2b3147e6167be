"""The web application: the API under /api, the pages, the audit trail around both.

`create_app(settings, connect)`: `connect` makes the Temporal client on first use (tests pass
one that returns theirs), so the server starts even while Temporal is still coming up.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from temporalio.client import Client

from starters.web import api, audit, calendar_feed, health, notify_receipts, openapi_doc, pages
from starters.web.audit import AuditMiddleware
from starters.web.gateway import ApiError, Gateway
from starters.web.limits import Limits, RequestLimits
from starters.web.sessions import SESSION_MAX_AGE_S
from starters.web.settings import WebSettings
from starters.web.views import STATIC_DIR
from worker.identity import TokenVerifier

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",  # pages carry children's plans: nothing kept by browsers or proxies
}


def create_app(settings: WebSettings, connect: Callable[[], Awaitable[Client]]) -> FastAPI:
    app = FastAPI(
        title="cpplan",
        summary="Child protection plans: the case systems' API",
        version="1",
        openapi_url="/api/openapi.json",
        # No Swagger page: it loads its script from a CDN (a download at run time, and blocked by
        # the pages' own content security policy); /api/openapi.json is what clients read.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.limits = Limits(settings)
    lock = asyncio.Lock()
    holder: dict[str, Gateway] = {}

    async def gateway() -> Gateway:
        async with lock:
            if "gw" not in holder:
                try:
                    client = await connect()
                except Exception:
                    raise ApiError(503, "Unavailable", "Temporal cannot be reached") from None
                holder["gw"] = Gateway(client, settings.deadline_s)
        return holder["gw"]

    app.state.gateway = gateway
    app.include_router(health.build_router())  # /healthz, /readyz: no token, not audited
    app.include_router(api.build_router())
    app.include_router(notify_receipts.build_router())
    app.include_router(calendar_feed.build_router())
    app.include_router(pages.build_pages())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api.install_error_handlers(app)
    openapi_doc.install(app)
    _install_page_errors(app)
    if settings.dev_key and settings.jwks_file is not None:
        jwks = json.loads(settings.jwks_file.read_text())

        @app.get("/dev/jwks.json", include_in_schema=False)
        async def dev_jwks() -> JSONResponse:
            return JSONResponse(jwks)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="cpplan_session",
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        # Secure cookies except in development or behind an explicitly plain-HTTP address.
        https_only=not settings.dev_key and not (settings.public_url or "").startswith("http://"),
    )
    # Sizes and rates before anything reads the body or checks a token (starters/web/limits.py).
    app.add_middleware(RequestLimits, limits=app.state.limits)
    app.add_middleware(AuditMiddleware)  # outermost: sees every request and its final status
    return app


def _install_page_errors(app: FastAPI) -> None:
    """Errors on pages are pages; on /api they stay JSON (api.install_error_handlers)."""

    async def api_error(request: Request, err: Exception) -> Response:
        if not isinstance(err, ApiError):
            raise err
        if request.url.path.startswith("/api/"):
            return await api.api_error_response(request, err)
        audit.note(request.scope, outcome=err.type)
        if err.status == 401:
            return RedirectResponse("/sign-in", status_code=303)
        response = pages.render(request, "error.html", err.status, error=err)
        response.headers.update(err.headers)
        return response

    async def sign_in_needed(request: Request, err: Exception) -> Response:
        audit.note(request.scope, outcome="not signed in")
        return RedirectResponse("/sign-in", status_code=303)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(pages.SignInNeeded, sign_in_needed)
