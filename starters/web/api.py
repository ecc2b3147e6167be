"""The JSON API for case systems: `/api/...`, bearer tokens only (no cookies, so no CSRF).

Message routes are made from `catalogue.message_specs()`: one POST per workflow message, its
request body the message's model (so `/api/openapi.json` documents every field).
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from activities import read_model
from starters.web import audit, work
from starters.web.catalogue import MessageSpec, message_specs
from starters.web.gateway import ApiError, Gateway, forbidden
from starters.web.identity import STAFF_ID, Identity, NotSignedIn, bearer
from starters.web.limits import check_failed_sign_ins, check_identity, count_failed_sign_in
from workflows import models as m
from workflows.calendar import local_date

REF = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
IDEMPOTENCY_KEY = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid bearer token"},
    403: {"description": "not yours to decide (or to see)"},
    404: {"description": "no such plan"},
    413: {"description": "the request body is over the limit (CPPLAN_WEB_MAX_BODY)"},
    422: {"description": "refused: `errors` names each bad field (type Refused)"},
    429: {"description": "too many requests: try again after `Retry-After` seconds"},
    503: {"description": "Temporal or the worker cannot be reached"},
    504: {"description": "no worker answered within the deadline"},
}


async def signed_in(request: Request) -> Identity:
    """The bearer token's person; 401 without one."""
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise ApiError(401, "NotSignedIn", "a bearer token is required")
    limits = request.app.state.limits
    check_failed_sign_ins(limits, request.scope)
    try:
        who = await asyncio.to_thread(request.app.state.verifier.verify, token)
    except NotSignedIn as err:
        count_failed_sign_in(limits, request.scope)  # bad tokens count against the address
        raise ApiError(401, "NotSignedIn", str(err)) from None
    audit.note(request.scope, who=who.staff_id, roles=" ".join(sorted(who.roles)))
    check_identity(limits, who.staff_id)
    return who


async def gateway(request: Request) -> Gateway:
    gw: Gateway = await request.app.state.gateway()
    return gw


SignedIn = Annotated[Identity, Depends(signed_in)]


async def writer(who: SignedIn) -> Identity:
    """Someone who may send a plan messages: `ops` read, and never write to a plan (403 before
    the body is read, whatever it holds)."""
    if not who.writes:
        raise forbidden("ops read plans; they never write to one")
    return who


Writer = Annotated[Identity, Depends(writer)]
GatewayDep = Annotated[Gateway, Depends(gateway)]


def _outcome(request: Request, action: str, plan_id: str | None, outcome: str | None = None) -> None:
    audit.note(request.scope, action=action, plan_id=plan_id, outcome=outcome)


def add_message_route(router: APIRouter, spec: MessageSpec) -> None:
    body_model = spec.request_model

    async def send(
        request: Request,
        plan_id: str,
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        who: Writer,
        gw: GatewayDep,
        idempotency_key: Annotated[str | None, Header(pattern=IDEMPOTENCY_KEY)] = None,
    ) -> JSONResponse:
        _outcome(request, spec.dash, plan_id)
        payload = body.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        code, result = await gw.send(who, plan_id, spec, payload, idempotency_key)
        _outcome(request, spec.dash, plan_id, "accepted" if code == 202 else "done")
        return JSONResponse(result, status_code=code)

    router.add_api_route(
        f"/plans/{{plan_id}}/{spec.dash}",
        send,
        methods=["POST"],
        name=spec.dash,
        summary=spec.summary,
        status_code=202 if spec.kind == "signal" else 200,
        responses=ERROR_RESPONSES,
        response_model=None,
    )


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.post(
        "/plans",
        name="start",
        status_code=201,
        summary="start a plan (201 started, 200 the same plan already there, 409 a different one)",
        responses={**ERROR_RESPONSES, 409: {"description": "a plan with this id and other content exists"}},
        response_model=None,
    )
    async def start_plan(
        request: Request,
        body: Annotated[m.PlanStart, Body()],
        who: SignedIn,
        gw: GatewayDep,
    ) -> JSONResponse:
        _outcome(request, "start", body.plan_id)
        code, result = await gw.start(who, body.model_dump(mode="json", exclude_unset=True))
        _outcome(request, "start", body.plan_id, "started" if code == 201 else "already there")
        return JSONResponse(result, status_code=code)

    @router.get("/plans/{plan_id}", name="status", summary="the plan's status query", responses=ERROR_RESPONSES)
    async def plan_status(request: Request, plan_id: str, who: SignedIn, gw: GatewayDep) -> dict[str, Any]:
        _outcome(request, "status", plan_id)
        status = await gw.status(who, plan_id)
        _outcome(request, "status", plan_id, "read")
        return status

    @router.get(
        "/plans/{plan_id}/history",
        name="history",
        summary="the plan's whole history from the read model, oldest first, a page at a time",
        responses=ERROR_RESPONSES,
    )
    async def plan_history(
        request: Request,
        plan_id: str,
        who: SignedIn,
        limit: Annotated[int, Query(ge=1, le=read_model.MAX_HISTORY_PAGE)] = read_model.HISTORY_PAGE,
        cursor: Annotated[int, Query(ge=0, description="the position to start at: a page's next_cursor")] = 0,
    ) -> dict[str, Any]:
        _outcome(request, "history", plan_id)
        people = await asyncio.to_thread(work.plan_people, plan_id) if STAFF_ID.fullmatch(plan_id) else None
        if people is None:
            raise ApiError(404, "NotFound", f"no saved history for plan {plan_id!r}")
        Gateway.check_can_see(who, people)
        entries, total = await asyncio.to_thread(read_model.history_page, plan_id, after=cursor - 1, limit=limit)
        last = entries[-1]["position"] if entries else None
        _outcome(request, "history", plan_id, f"read {len(entries)}")
        return {
            "plan_id": plan_id,
            "total": total,
            "entries": entries,
            "next_cursor": last + 1 if last is not None and last + 1 < total else None,
        }

    @router.get(
        "/work", name="work", summary="obligations overdue and due soon, from the read model", responses=ERROR_RESPONSES
    )
    async def my_work(
        request: Request,
        who: SignedIn,
        team: Annotated[str | None, Query(pattern=REF)] = None,
        person: Annotated[str | None, Query(pattern=REF)] = None,
        due_within: Annotated[int, Query(alias="due-within", ge=0, le=60)] = work.DEFAULT_DUE_WITHIN,
    ) -> dict[str, Any]:
        _outcome(request, "work", None)
        team, person = _work_scope(who, team, person)
        today = local_date(datetime.now(UTC))
        items = await asyncio.to_thread(work.work_items, today, team=team, person=person, due_within=due_within)
        undelivered = await asyncio.to_thread(work.undelivered, team=team, person=person)
        _outcome(request, "work", None, f"read {len(items)}")
        return {
            "today": today.isoformat(),
            "due_within_working_days": due_within,
            "items": items,
            "undelivered": undelivered,
        }

    for spec in message_specs().values():
        add_message_route(router, spec)
    return router


def _work_scope(who: Identity, team: str | None, person: str | None) -> tuple[str | None, str | None]:
    """Practitioners see their own work, team managers their team's; others any."""
    if who.has("case-system", "ops", "service-manager", "head-of-service"):
        return team, person
    if who.has("team-manager"):
        if team not in (None, who.staff_id):
            raise ApiError(403, "Forbidden", "a team manager sees their own team's work")
        return who.staff_id, person
    if person not in (None, who.staff_id):
        raise ApiError(403, "Forbidden", "a practitioner sees their own work")
    if team is not None:
        raise ApiError(403, "Forbidden", "a practitioner sees their own work")
    return None, who.staff_id


async def api_error_response(request: Request, err: ApiError) -> JSONResponse:
    audit.note(request.scope, outcome=err.type)
    headers = {**err.headers, **({"WWW-Authenticate": "Bearer"} if err.status == 401 else {})}
    return JSONResponse(err.body(), status_code=err.status, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_response)  # type: ignore[arg-type]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        """Starlette's own errors (no such route, method not allowed) in the API's shape."""
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, err)
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(err.status_code, "Error")
        detail = "no such route: see /api/openapi.json" if err.status_code == 404 else str(err.detail)
        return JSONResponse({"type": kind, "detail": detail, "errors": []}, status_code=err.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for item in err.errors():
            loc = [str(p) for p in item.get("loc", ())]
            where = loc[0] if loc else "body"
            name = ".".join(loc[1:]) or ("(payload)" if where == "body" else where)
            problems.append({"field": name, "reason": str(item.get("msg", "")).removeprefix("Value error, ")})
        detail = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        return JSONResponse({"type": "Refused", "detail": detail, "errors": problems}, status_code=422)
