"""The JSON API for case systems: `/api/...`, bearer tokens only (no cookies, so no CSRF).

Message routes are made from `starters.cases.PLANS`: one POST per workflow message, its
request body the message's model (so `/api/openapi.json` documents every field). Failures are
problem details (starters/web/problems.py); the document is finished in openapi_doc.py.
"""

import asyncio
import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from activities import read_model
from starters.cases import PLANS, ClientMessage
from starters.web import audit, problems, work
from starters.web.api_models import CURSOR_PATTERN, History, WorkList
from starters.web.api_route import ApiRoute, WriterRoute, sign_in
from starters.web.gateway import ApiError, Gateway, forbidden
from worker.identity import STAFF_ID, Identity
from workflows import models as m
from workflows.calendar import local_date

REF = m.REF_PATTERN
IDEMPOTENCY_KEY = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_.]*")
WORK_PAGE = 50  # items on a page of the work list when the caller does not say
WORK_PAGE_MAX = 200

PlanId = Annotated[str, Path(pattern=REF, max_length=64, description="the plan's opaque reference")]


async def signed_in(request: Request) -> Identity:
    """The bearer token's person (settled by `ApiRoute` before the body is read, with the
    sign-in rate limits of starters/web/limits.py); 401 without one."""
    return await sign_in(request)


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


def etag(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    given = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in given or tag in given


def cursor_after(item: dict[str, Any]) -> str:
    """An opaque cursor: the place of the last item given (work.order), base64url."""
    place = list(work.order(item))
    return base64.urlsafe_b64encode(json.dumps(place, separators=(",", ":")).encode()).decode().rstrip("=")


def _place(cursor: str) -> tuple[bool, str, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        late, due, plan_id, obligation_id = json.loads(raw)
        if isinstance(late, bool) and all(isinstance(v, str) for v in (due, plan_id, obligation_id)):
            return late, due, plan_id, obligation_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        pass
    raise ApiError(
        422,
        "Refused",
        "cursor: not a cursor this API gave",
        [{"field": "cursor", "reason": "not a cursor this API gave: use `next` from the previous page"}],
    )


def add_message_route(router: APIRouter, spec: ClientMessage) -> None:
    body_model = spec.request_model

    async def send(
        request: Request,
        plan_id: PlanId,
        body: Annotated[body_model, Body()],  # type: ignore[valid-type]
        who: Writer,
        gw: GatewayDep,
        idempotency_key: Annotated[str | None, Header(pattern=IDEMPOTENCY_KEY)] = None,
    ) -> JSONResponse:
        _outcome(request, spec.command, plan_id)
        payload = body.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        code, result = await gw.send(who, plan_id, spec, payload, idempotency_key)
        _outcome(request, spec.command, plan_id, "accepted" if code == 202 else "done")
        return JSONResponse(result, status_code=code)

    router.add_api_route(
        f"/plans/{{plan_id}}/{spec.command}",
        send,
        methods=["POST"],
        name=spec.command,
        summary=spec.summary,
        status_code=202 if spec.kind == "signal" else 200,
        response_model=None,
        openapi_extra={"x-cpplan-message": spec.name, "x-cpplan-decided-by": spec.capacity},
        route_class_override=WriterRoute,  # ops are refused (403) before the body is read
    )


def build_router() -> APIRouter:
    # Operation ids are the routes' names: start, status, work, record-visit, ...
    router = APIRouter(prefix="/api", route_class=ApiRoute, generate_unique_id_function=lambda route: route.name)

    @router.post(
        "/plans",
        name="start",
        status_code=201,
        summary="start a plan (201 started, 200 the same plan already there, 409 a different one)",
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
        # The plan's address either way: a retried start finds the plan it made.
        return JSONResponse(result, status_code=code, headers={"Location": f"/api/plans/{result['plan_id']}"})

    @router.get("/plans/{plan_id}", name="status", summary="the plan's status query", response_model=None)
    async def plan_status(
        request: Request,
        plan_id: PlanId,
        who: SignedIn,
        gw: GatewayDep,
        if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
    ) -> Response:
        _outcome(request, "status", plan_id)
        status = (await gw.status(who, plan_id)).as_json()
        tag = etag(status)
        if _matches(if_none_match, tag):
            _outcome(request, "status", plan_id, "not modified")
            return Response(status_code=304, headers={"ETag": tag})
        _outcome(request, "status", plan_id, "read")
        return JSONResponse(status, headers={"ETag": tag})

    @router.get(
        "/plans/{plan_id}/history",
        name="history",
        summary="the plan's whole history from the read model, oldest first, a page at a time",
        response_model=History,
    )
    async def plan_history(
        request: Request,
        plan_id: PlanId,
        who: SignedIn,
        limit: Annotated[
            int, Query(ge=1, le=read_model.MAX_HISTORY_PAGE, description="entries on a page")
        ] = read_model.HISTORY_PAGE,
        cursor: Annotated[
            int, Query(ge=0, le=2**31 - 1, description="the position to start at: `next_cursor` from the page before")
        ] = 0,
    ) -> dict[str, Any]:
        _outcome(request, "history", plan_id)
        people = await asyncio.to_thread(work.plan_people, plan_id) if STAFF_ID.fullmatch(plan_id) else None
        if people is None:
            raise ApiError(404, "NotFound", f"no saved history for plan {plan_id!r}")
        Gateway.check_can_see(who, people.get("lead_social_worker"), people.get("team_manager"))
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
        "/work",
        name="work",
        summary="obligations overdue and due soon, from the read model, a page at a time",
        response_model=WorkList,
    )
    async def my_work(
        request: Request,
        who: SignedIn,
        team: Annotated[str | None, Query(pattern=REF, max_length=64)] = None,
        person: Annotated[str | None, Query(pattern=REF, max_length=64)] = None,
        due_within: Annotated[int, Query(alias="due-within", ge=0, le=60)] = work.DEFAULT_DUE_WITHIN,
        limit: Annotated[int, Query(ge=1, le=WORK_PAGE_MAX, description="items on a page")] = WORK_PAGE,
        cursor: Annotated[
            str | None,
            Query(
                pattern=CURSOR_PATTERN,
                max_length=400,
                description="`next` from the page before; a cursor this API did not give is refused (422)",
            ),
        ] = None,
    ) -> dict[str, Any]:
        _outcome(request, "work", None)
        after = _place(cursor) if cursor is not None else None
        team, person = _work_scope(who, team, person)
        today = local_date(datetime.now(UTC))
        items = await asyncio.to_thread(work.work_items, today, team=team, person=person, due_within=due_within)
        undelivered = await asyncio.to_thread(work.undelivered, team=team, person=person)
        if after is not None:
            items = [i for i in items if work.order(i) > after]
        page = items[:limit]
        _outcome(request, "work", None, f"read {len(page)}")
        return {
            "today": today.isoformat(),
            "due_within_working_days": due_within,
            "items": page,
            "next": cursor_after(page[-1]) if len(items) > limit else None,
            "undelivered": undelivered,
        }

    for spec in PLANS.commands.values():
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


async def api_error_response(request: Request, err: ApiError) -> Response:
    audit.note(request.scope, outcome=err.type)
    return problems.of(err, request.url.path)


def _methods_at(request: Request) -> list[str]:
    """Every method the routes at the request's path take (each asked as the router asks it)."""
    taken = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            taken.append(method)
    return taken


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    where = parts[0] if parts else "body"
    return ".".join(parts[1:]) or ("(payload)" if where == "body" else where)


def _each_field(text: str) -> list[dict[str, str]]:
    """`first_review_date: must be after the conference; ...` as one problem per field."""
    found = []
    for part in text.split("; "):
        name, sep, reason = part.partition(": ")
        named = sep and FIELD_NAME.fullmatch(name) is not None
        found.append({"field": name, "reason": reason} if named else {"field": "(payload)", "reason": part})
    return found


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_response)  # type: ignore[arg-type]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        """Starlette's own errors (no such route, a method the route does not take with its
        `Allow`) as problems."""
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, err)
        kind = problems.kind_of(err.status_code)
        audit.note(request.scope, outcome=kind)
        detail = "no such route: see /api/openapi.json" if err.status_code == 404 else str(err.detail)
        headers = dict(err.headers or {})
        if err.status_code == 405:
            # Starlette names the methods of the first route at this path; there may be several.
            headers["Allow"] = ", ".join(_methods_at(request))
        return problems.response(err.status_code, kind, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> Response:
        found = []
        for item in err.errors():
            field, reason = _field(item.get("loc", ())), str(item.get("msg", "")).removeprefix("Value error, ")
            if item.get("type") == "string_pattern_mismatch":  # a pattern in words, as m.parse says it
                reason = m.PATTERN_SENTENCES.get(str((item.get("ctx") or {}).get("pattern")), reason)
            if field == "(payload)" and item.get("type") == "value_error":
                # A model's own check across fields names each as `m.Refusal` does: one entry each.
                found += _each_field(reason)
            else:
                found.append({"field": field, "reason": reason})
        detail = "; ".join(f"{p['field']}: {p['reason']}" for p in found)
        audit.note(request.scope, outcome="Refused")
        return problems.response(422, "Refused", detail, instance=request.url.path, errors=found)
