"""The front door's probes (worker/health.py): `/healthz` answers while the process runs;
`/readyz` answers 200 when Temporal, the database and its schema are all usable, else 503 with
each check's reason. Neither needs a token, neither is audited (nothing personal is asked or
answered), and neither appears in the API's OpenAPI document.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from starters.web.gateway import ApiError
from worker.health import ALIVE, database_check, temporal_check, verdict


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse(ALIVE)

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        temporal, database = await asyncio.gather(_temporal(request), database_check())
        status, body = verdict({"temporal": temporal, "database": database})
        return JSONResponse(body, status_code=status)

    return router


async def _temporal(request: Request) -> str:
    try:
        gateway = await request.app.state.gateway()
    except ApiError:
        return "unreachable"
    return await temporal_check(gateway.client)
