"""Pages for practitioners and managers: My work, Team, Plan; signed in by a session cookie.

Server-rendered, no JavaScript needed. Every form carries the session's CSRF token. The pages
go through the same `Gateway` as the API, so the same person may do the same things either way.
"""

import asyncio
import hmac
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from starters import dates
from starters.cases import PLANS
from starters.web import audit, calendar_feed, oidc_login, sessions, views, work
from starters.web.devpeople import dev_people
from starters.web.gateway import ApiError, Gateway
from starters.web.limits import check_failed_sign_ins, check_identity, count_failed_sign_in
from worker.identity import Identity, NotSignedIn
from workflows.calendar import local_date

TEMPLATES = Jinja2Templates(directory=str(views.TEMPLATE_DIR))
TEMPLATES.env.globals.update(
    tag=views.tag,
    kind_words=views.kind_words,
    event_words=views.event_words,
    escalation_words=views.escalation_words,
    undelivered_words=views.undelivered_words,
    table_day=dates.table_day,
    prose_day=dates.prose_day,
)


class SignInNeeded(Exception):
    pass


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf(request: Request, given: str) -> None:
    expected = request.session.get("csrf") or ""
    if not expected or not hmac.compare_digest(str(expected), given):
        raise ApiError(403, "Forbidden", "the form has expired: go back, reload the page and try again")


async def signed_in_person(request: Request) -> Identity | None:
    """The session's person, unless the session was signed out (on any instance: the revocation
    is in the database, starters/web/sessions.py). A revoked session is cleared."""
    if hasattr(request.state, "person"):
        found: Identity | None = request.state.person
        return found
    who = None
    session = Identity.from_session(request.session.get("who"))
    if session is not None:
        if await asyncio.to_thread(sessions.is_revoked, session[1]):
            request.session.clear()
        else:
            who = session[0]
    request.state.person = who
    return who


async def person(request: Request) -> Identity:
    who = await signed_in_person(request)
    if who is None:
        raise SignInNeeded()
    audit.note(request.scope, who=who.staff_id, roles=" ".join(sorted(who.roles)))
    check_identity(request.app.state.limits, who.staff_id)
    return who


Person = Annotated[Identity, Depends(person)]


def sign_in_as(request: Request, who: Identity) -> None:
    """A new session on sign-in, with an id of its own: nothing carried over."""
    request.session.clear()
    request.session["who"] = who.as_session(sessions.new_session_id())
    request.state.person = who


def render(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    who = getattr(request.state, "person", None)
    context.update(
        who=who,
        csrf=csrf_token(request),
        dev=request.app.state.settings.dev_key,
        flash=request.session.pop("flash", None),
        path=request.url.path,
    )
    return TEMPLATES.TemplateResponse(request, name, context, status_code=code)


def build_pages() -> APIRouter:
    """Longer than most functions: one short route function per page, defined where they share the
    app's settings."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def home(request: Request) -> Response:
        who = await signed_in_person(request)
        if who is None:
            return RedirectResponse("/sign-in", status_code=303)
        return RedirectResponse("/team" if who.manager else "/work", status_code=303)

    @router.get("/sign-in")
    async def sign_in(request: Request) -> Response:
        settings = request.app.state.settings
        return render(
            request, "sign_in.html", people=dev_people() if settings.dev_key else [], oidc=bool(settings.client_id)
        )

    @router.get("/sign-in/oidc")
    async def sign_in_oidc(request: Request) -> Response:
        settings = request.app.state.settings
        url = await oidc_login.start(settings, request.session, str(request.base_url))
        return RedirectResponse(url, status_code=303)

    @router.get("/sign-in/callback")
    async def sign_in_callback(request: Request, code: str = "", state: str = "") -> Response:
        settings = request.app.state.settings
        check_failed_sign_ins(request.app.state.limits, request.scope)
        id_token, nonce = await oidc_login.finish(settings, request.session, str(request.base_url), code, state)
        verify = request.app.state.verifier.verify
        try:
            who = await asyncio.to_thread(verify, id_token, audience=settings.client_id, nonce=nonce)
        except NotSignedIn as err:
            count_failed_sign_in(request.app.state.limits, request.scope)
            raise ApiError(403, "Forbidden", f"you could not be signed in: {err}") from None
        sign_in_as(request, who)
        audit.note(
            request.scope, who=who.staff_id, roles=" ".join(sorted(who.roles)), action="sign-in", outcome="signed in"
        )
        return RedirectResponse("/", status_code=303)

    @router.post("/sign-in/dev")
    async def sign_in_dev(
        request: Request, staff_id: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = ""
    ) -> Response:
        check_csrf(request, csrf_token)
        if not request.app.state.settings.dev_key:
            raise ApiError(404, "NotFound", "development sign-in is off")
        check_failed_sign_ins(request.app.state.limits, request.scope)
        chosen = next((p for p in dev_people() if p["staff_id"] == staff_id), None)
        if chosen is None:
            count_failed_sign_in(request.app.state.limits, request.scope)
            raise ApiError(422, "Refused", "staff_id: not one of the people on a plan here")
        who = Identity(chosen["staff_id"], frozenset([chosen["role"]]))
        sign_in_as(request, who)
        audit.note(request.scope, who=who.staff_id, roles=chosen["role"], action="sign-in", outcome="signed in")
        return RedirectResponse("/", status_code=303)

    @router.post("/sign-out")
    async def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf_token)
        await person(request)
        found = Identity.from_session(request.session.get("who"))
        if found is not None:
            # Revoked for every instance, so a copy of the cookie is signed out too.
            await asyncio.to_thread(sessions.revoke, found[1])
        request.session.clear()
        audit.note(request.scope, action="sign-out", outcome="signed out")
        return RedirectResponse("/sign-in", status_code=303)

    async def my_work_page(request: Request, who: Identity, new_feed_url: str | None = None) -> Response:
        today = local_date(datetime.now(UTC))
        items = await asyncio.to_thread(work.work_items, today, person=who.staff_id, with_policy=True)
        items = [i for i in items if i["kind"] not in work.MANAGERS_DECISIONS]
        decisions = await asyncio.to_thread(work.decisions_for, who.staff_id) if who.has("team-manager") else []
        feed_made = await asyncio.to_thread(calendar_feed.feed_made, who.staff_id)
        audit.note(request.scope, action="page my-work", outcome=f"read {len(items) + len(decisions)}")
        return render(
            request,
            "work.html",
            items=views.dated(items, today),
            decisions=views.dated(decisions, today),
            today=today,
            today_words=dates.prose_day(today),
            can_subscribe=who.person,
            feed_made=dates.prose_day(feed_made),
            new_feed_url=new_feed_url,
        )

    @router.get("/work")
    async def my_work(request: Request, who: Person) -> Response:
        return await my_work_page(request, who)

    @router.post("/work/calendar")
    async def make_calendar_feed(request: Request, who: Person, csrf_token: Annotated[str, Form()] = "") -> Response:
        """A new secret address for the person's calendar, shown on this response only (it is
        stored hashed: calendar_feed.py); the old address stops working."""
        check_csrf(request, csrf_token)
        if not who.person:
            raise ApiError(403, "Forbidden", "a calendar is a person's")
        audit.note(request.scope, action="page calendar-feed", outcome="made")
        token = await asyncio.to_thread(calendar_feed.new_feed, who.staff_id, " ".join(sorted(who.roles)))
        return await my_work_page(request, who, calendar_feed.feed_url(request, token))

    @router.post("/work/calendar/stop")
    async def stop_calendar_feed(request: Request, who: Person, csrf_token: Annotated[str, Form()] = "") -> Response:
        check_csrf(request, csrf_token)
        revoked = await asyncio.to_thread(calendar_feed.revoke, who.staff_id)
        audit.note(request.scope, action="page calendar-feed-revoke", outcome="revoked" if revoked else "none")
        request.session["flash"] = (
            "Your calendar address has been stopped" if revoked else "You had no calendar address to stop"
        )
        return RedirectResponse("/work#calendar", status_code=303)

    @router.get("/team")
    async def team(request: Request, who: Person, worker: str = "", kind: str = "") -> Response:
        if not who.manager:
            raise ApiError(403, "Forbidden", "the team page is for managers")
        today = local_date(datetime.now(UTC))
        team_ref = (
            who.staff_id if who.has("team-manager") and not who.has("service-manager", "head-of-service") else None
        )
        items = views.dated(await asyncio.to_thread(work.work_items, today, team=team_ref, with_policy=True), today)
        escalated = await asyncio.to_thread(work.escalations_by_plan, who.staff_id)
        undelivered = await asyncio.to_thread(work.undelivered, team=team_ref)
        audit.note(request.scope, action="page team", outcome=f"read {len(items)}")
        workers = views.per_worker(items)
        shown = views.per_worker(views.filtered(items, worker, kind))
        return render(
            request,
            "team.html",
            summary=views.team_summary(workers, escalated),
            workers=shown,
            worker_choices=[w["staff_id"] for w in sorted(workers, key=lambda w: w["staff_id"])],
            kind_choices=sorted({i["kind"] for i in items if i["kind"] not in work.MANAGERS_DECISIONS}),
            chosen={"worker": worker, "kind": kind},
            decisions=[i for i in items if i["kind"] in work.MANAGERS_DECISIONS],
            escalated=escalated,
            undelivered=undelivered,
            today=today,
            today_words=dates.prose_day(today),
        )

    @router.get("/plans/{plan_id}")
    async def plan(request: Request, plan_id: str, who: Person) -> Response:
        gw: Gateway = await request.app.state.gateway()
        status = await gw.status(who, plan_id)
        audit.note(request.scope, action="page plan", plan_id=plan_id, outcome="read")
        return render(request, "plan.html", **views.plan_context(status, who))

    @router.post("/plans/{plan_id}/{message}")
    async def send(request: Request, plan_id: str, message: str, who: Person) -> Response:
        form = await request.form()
        check_csrf(request, str(form.get("csrf_token", "")))
        spec = PLANS.commands.get(message)
        if spec is None or spec.command not in views.FORMS:
            raise ApiError(404, "NotFound", "no such form")
        audit.note(request.scope, action=f"page {spec.command}", plan_id=plan_id)
        payload = views.FORMS[spec.command](form)
        gw: Gateway = await request.app.state.gateway()
        problems = views.FORM_CHECKS.get(spec.command, lambda _: [])(form)
        try:
            if problems:
                raise ApiError(422, "Refused", "", [{"field": f, "reason": r} for f, r in problems])
            await gw.send(who, plan_id, spec, payload, None)
        except ApiError as err:
            if err.status != 422:
                raise
            audit.note(request.scope, outcome="refused")
            status = await gw.status(who, plan_id)
            context = views.plan_context(status, who)
            again = views.already_recorded(err.errors)
            return render(
                request,
                "plan.html",
                409 if again else 422,
                errors=[] if again else views.plain_errors(err.errors, spec.command),
                already_recorded=again,
                form=spec.command,
                values=dict(form),
                **context,
            )
        audit.note(request.scope, outcome="done")
        request.session["flash"] = views.DONE_WORDS[spec.command]
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)

    return router
