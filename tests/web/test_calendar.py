"""Each practitioner's calendar through the real server: their due dates as iCalendar events
(from the read model the worker keeps), stable UIDs that move with a changed date, an alarm the
working day before, opaque references only; and a secret feed address, stored hashed, that a
new one replaces and that can be revoked."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from icalendar import Calendar

from activities.db import calendar_feeds, get_engine
from tests.helpers import eventually
from tests.web.conftest import Web
from workflows.calendar import LONDON, profile_calendar
from workflows.policy import get_profile

CASE_SYSTEM = ("case-sys-1", "case-system")
LEAD = ("sw-demo", "social-worker")
TEAM_MANAGER = ("tm-demo", "team-manager")


def events(body: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}


async def started(web: Web, plan_doc: dict[str, Any]) -> dict[str, Any]:
    async with web.http() as http:
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 201, r.text
        return (await http.get(f"/api/plans/{plan_doc['plan_id']}", headers=web.auth(*CASE_SYSTEM))).json()


async def calendar_of(web: Web, who: tuple[str, str], check: Any = lambda found: True) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        async with web.http() as http:
            r = await http.get("/api/calendar.ics", headers=web.auth(*who))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar"), r.text
        found = events(r.content)
        assert check(found), sorted(found)
        return found

    return await eventually(fetch)


async def test_the_lead_social_workers_due_dates_with_stable_uids_and_an_alarm(web: Web, plan_doc: dict[str, Any]):
    status = await started(web, plan_doc)
    plan_id = plan_doc["plan_id"]
    first_core_group = f"{plan_id}-first-core-group@cpplan"
    found = await calendar_of(web, LEAD, lambda f: first_core_group in f)

    open_ones = {o["id"]: o for o in status["obligations"] if o["status"] in ("pending", "overdue", "escalated")}
    assert set(found) == {f"{plan_id}-{ob_id}@cpplan" for ob_id in open_ones}
    event = found[first_core_group]
    due = date.fromisoformat(open_ones["first-core-group"]["due"])
    assert event.decoded("DTSTART") == due
    assert f"Due {due.isoformat()}" in str(event["DESCRIPTION"])
    [alarm] = event.walk("VALARM")
    cal = profile_calendar(get_profile(plan_doc["policy"]), due.year - 1, due.year + 1)
    assert alarm.decoded("TRIGGER") == datetime.combine(cal.add_working_days(due, -1), time(9), tzinfo=LONDON)
    async with web.http() as http:
        body = (await http.get("/api/calendar.ics", headers=web.auth(*LEAD))).text
        assert plan_doc["child_ref"] not in body and "@example.org" not in body
        assert (await http.get("/api/calendar.ics")).status_code == 401

        # The meeting arranged for another day: the same event moves, none is added.
        icpc = date.fromisoformat(plan_doc["icpc_date"])
        moved = icpc + timedelta(days=(due - icpc).days // 2)
        assert moved != due
        r = await http.post(
            f"/api/plans/{plan_id}/schedule-meeting",
            json={"kind": "core_group", "date": moved.isoformat()},
            headers=web.auth(*LEAD),
        )
        assert r.status_code == 200, r.text
    again = await calendar_of(web, LEAD, lambda f: f[first_core_group].decoded("DTSTART") == moved)
    assert set(again) == set(found)

    # Someone else leads none of it.
    assert await calendar_of(web, ("sw-other", "social-worker")) == {}


async def test_a_team_manager_sees_their_decisions(web: Web, plan_doc: dict[str, Any]):
    await started(web, plan_doc)
    plan_id = plan_doc["plan_id"]
    await calendar_of(web, LEAD, lambda f: bool(f))  # the plan is in the read model
    assert await calendar_of(web, TEAM_MANAGER) == {}  # the lead social worker's tasks are not theirs
    async with web.http() as http:
        r = await http.post(
            f"/api/plans/{plan_id}/report-incident",
            json={"kind": "new-incident", "date": plan_doc["icpc_date"]},
            headers=web.auth(*CASE_SYSTEM),
        )
        assert r.status_code == 202, r.text
    found = await calendar_of(web, TEAM_MANAGER, lambda f: bool(f))
    assert list(found) == [f"{plan_id}-early-review-decision-1@cpplan"]


async def test_a_secret_feed_is_stored_hashed_replaced_and_revoked(web: Web, plan_doc: dict[str, Any]):
    await started(web, plan_doc)
    expected = await calendar_of(web, LEAD, lambda f: bool(f))
    async with web.http() as http:
        r = await http.post("/api/calendar/feed", headers=web.auth(*LEAD))
        assert r.status_code == 200, r.text
        url = r.json()["url"]
        assert url.startswith(web.url + "/calendar/") and url.endswith(".ics")
        feed = await http.get(url)  # no sign-in: the address is the secret
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert set(events(feed.content)) == set(expected)

        token = url.rsplit("/", 1)[1].removesuffix(".ics")
        with get_engine().connect() as conn:
            rows = conn.execute(sa.select(calendar_feeds)).all()
        assert [(row.staff_id, row.token_sha256) for row in rows] == [
            ("sw-demo", hashlib.sha256(token.encode()).hexdigest())
        ]

        newer = (await http.post("/api/calendar/feed", headers=web.auth(*LEAD))).json()["url"]
        assert (await http.get(url)).status_code == 404
        assert (await http.get(newer)).status_code == 200
        assert (await http.delete("/api/calendar/feed", headers=web.auth(*LEAD))).json() == {"revoked": True}
        assert (await http.get(newer)).status_code == 404
        assert (await http.get(web.url + "/calendar/not-a-token.ics")).status_code == 404


async def test_my_work_makes_shows_once_and_stops_a_calendar_address(web: Web, plan_doc: dict[str, Any]):
    """My work's "Your calendar": a form makes the secret address, shown on that page only, with
    how to subscribe from Outlook; the address serves the calendar; the stop form revokes it."""
    from tests.web.browser import browser_page
    from tests.web.test_pages import _accessible, _sign_in

    await started(web, plan_doc)
    expected = await calendar_of(web, LEAD, lambda f: bool(f))
    async with browser_page() as page:
        await _sign_in(page, web, "sw-demo")
        assert page.url.endswith("/work")
        assert await page.get_by_role("button", name="Stop your calendar address").count() == 0
        # A form from elsewhere (no CSRF token of this session) makes nothing.
        forged = await page.request.post(f"{web.url}/work/calendar", form={"csrf_token": "not-the-token"})
        assert forged.status == 403 and "/calendar/" not in await forged.text()
        await page.get_by_role("button", name="Make a calendar address").click()
        url = (await page.text_content("#new-feed-url") or "").strip()
        assert url.startswith(web.url + "/calendar/") and url.endswith(".ics"), url
        calendar = " ".join((await page.text_content("#calendar ~ .inset-text") or "").split())
        assert 'choose "Add calendar", then "Subscribe from web", and paste it in' in calendar
        await _accessible(page, "my work with a calendar address")
        async with web.http() as http:
            feed = await http.get(url)
            assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
            assert set(events(feed.content)) == set(expected)

        # Shown once: the page says one was made, not what it is.
        await page.goto(f"{web.url}/work")
        assert await page.locator("#new-feed-url").count() == 0
        assert url not in await page.content()
        assert "You made a calendar address on " in await page.text_content("main")

        await page.get_by_role("button", name="Stop your calendar address").click()
        assert "Your calendar address has been stopped" in await page.text_content("main")
        async with web.http() as http:
            assert (await http.get(url)).status_code == 404
        assert await page.get_by_role("button", name="Make a calendar address").count() == 1
        await _accessible(page, "my work after the calendar address stopped")
