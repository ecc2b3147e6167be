"""The pages in a browser: a practitioner records a visit, a manager authorises an early review;
every page is checked with axe-core for serious and critical WCAG 2.2 AA violations."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from starters.web import audit
from tests.helpers import eventually
from tests.web.browser import browser_page, screenshot_dir, serious_violations
from tests.web.conftest import Web
from workflows.calendar import local_date


async def _accessible(page: Any, what: str) -> None:
    problems = await serious_violations(page)
    assert not problems, f"{what}: " + "; ".join(problems)


async def _sign_in(page: Any, web: Web, staff_id: str) -> None:
    await page.goto(f"{web.url}/sign-in")
    assert "Development only" in await page.text_content("main")
    await page.get_by_role("button", name=f"Sign in as {staff_id}").click()
    await page.wait_for_load_state()


async def test_practitioner_and_manager_pages(web: Web, plan_doc: dict[str, Any], tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    plan_id = plan_doc["plan_id"]
    today = local_date(await web.env.get_current_time())
    async with web.http() as http:
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth("case-sys-1", "case-system"))
        assert r.status_code == 201, r.text
        r = await http.post(
            f"/api/plans/{plan_id}/report-incident",
            json={"kind": "new-incident", "date": today.isoformat()},
            headers=web.auth("case-sys-1", "case-system"),
        )
        assert r.status_code == 202

    async with browser_page() as page:
        # Not signed in: the pages send you to sign in.
        await page.goto(f"{web.url}/work")
        assert page.url.endswith("/sign-in")
        await _accessible(page, "sign in")

        # The practitioner: their work, then the plan, then a visit recorded.
        await _sign_in(page, web, "sw-demo")
        assert page.url.endswith("/work")

        async def listed() -> None:
            await page.reload()
            assert plan_id in await page.text_content("main")

        await eventually(listed, timeout=20)
        await _accessible(page, "my work")
        await page.screenshot(path=str(shots / "web-my-work.png"), full_page=True)

        await page.get_by_role("link", name=plan_id).first.click()
        assert page.url.endswith(f"/plans/{plan_id}")
        # No manager's forms for a practitioner.
        assert await page.get_by_role("button", name="Authorise early review").count() == 0
        # Missing answer: refused, the field named in an error summary.
        await page.fill("#record-visit-date-day", str(today.day))
        await page.fill("#record-visit-date-month", str(today.month))
        await page.fill("#record-visit-date-year", str(today.year))
        await page.get_by_role("button", name="Record visit").click()
        assert "There is a problem" in await page.text_content("main")
        assert "seen" in await page.text_content(".error-summary")
        await _accessible(page, "plan with an error")
        await page.fill("#record-visit-date-day", str(today.day))
        await page.fill("#record-visit-date-month", str(today.month))
        await page.fill("#record-visit-date-year", str(today.year))
        await page.check("#seen-yes")
        await page.check("#seen-alone")
        await page.get_by_role("button", name="Record visit").click()
        assert "Visit recorded" in await page.text_content("main")
        await _accessible(page, "plan")
        await page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/sign-in")

        # The team manager: the decision waiting, then the early review authorised.
        await _sign_in(page, web, "tm-demo")
        assert page.url.endswith("/team")
        assert f"Early review request on {plan_id}" in await page.text_content("main")
        await _accessible(page, "team")
        await page.screenshot(path=str(shots / "web-team.png"), full_page=True)
        await page.get_by_role("link", name=f"Early review request on {plan_id}").click()
        review = today + timedelta(days=14)
        await page.fill("#authorise-early-review-review_date-day", str(review.day))
        await page.fill("#authorise-early-review-review_date-month", str(review.month))
        await page.fill("#authorise-early-review-review_date-year", str(review.year))
        await page.get_by_role("button", name="Authorise early review").click()
        assert "Early review authorised" in await page.text_content("main")
        await _accessible(page, "plan after the decision")
        await page.screenshot(path=str(shots / "web-plan.png"), full_page=True)

    async with web.http() as http:
        # The review date is now set: moving it again is a manager's decision (000 9.4.12).
        move = {"kind": "review_conference", "date": (review - timedelta(days=2)).isoformat()}
        r = await http.post(
            f"/api/plans/{plan_id}/schedule-meeting", json=move, headers=web.auth("sw-demo", "social-worker")
        )
        assert r.status_code == 403, r.text
        status = (await http.get(f"/api/plans/{plan_id}", headers=web.auth("tm-demo", "team-manager"))).json()
    events = {(h["event"], h.get("by")) for h in status["history"]}
    assert ("visit", "sw-demo") in events
    assert ("early-review-authorised", "tm-demo") in events, status["history"]
    assert any(o["id"] == "review-conference-1" and o["due"] == review.isoformat() for o in status["obligations"])
    # Who looked at the plan's page and who changed it, from the audit trail.
    trail = {(r["who"], r["via"], r["action"], r["status"]) for r in audit.rows(plan_id)}
    assert ("sw-demo", "page", "page plan", 200) in trail
    assert ("sw-demo", "page", "page record-visit", 422) in trail
    assert ("sw-demo", "page", "page record-visit", 303) in trail
    assert ("tm-demo", "page", "page authorise-early-review", 303) in trail


async def test_the_accessibility_check_finds_violations() -> None:
    """The axe check above can fail: a page with an unlabelled field and an image without
    alternative text is reported."""
    async with browser_page() as page:
        await page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><img src="x.png">'
            '<input type="text"></main></body></html>'
        )
        problems = await serious_violations(page)
    assert any(p.startswith("image-alt") for p in problems), problems
    assert any(p.startswith("label") for p in problems), problems


WIDTHS = (1280, 390)  # a desktop and a phone


async def _accessible_at_both_widths(page: Any, what: str, shots: Path | None = None) -> None:
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await _accessible(page, f"{what} at {width} wide")
        if shots is not None:
            await page.screenshot(path=str(shots / f"web-{what.replace(' ', '-')}-{width}.png"), full_page=True)


def _visits(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [h for h in status["history"] if h["event"] == "visit"]


async def test_a_managers_morning_and_a_practitioners_week(
    web: Web, plan_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dates in words and how late each overdue item is; the manager's waiting decision on their
    own My work; the Team page's summary first; the visit form's errors in plain words; a visit
    recorded on the command line and again on the page asked about before it is saved twice."""
    from starters import cli, dates

    shots = screenshot_dir(tmp_path)
    monkeypatch.setenv("CPPLAN_CASE_RECORD_URL", "https://case.example.org/children/{child_ref}")
    today = local_date(await web.env.get_current_time())
    fresh = plan_doc["plan_id"]
    late = {**plan_doc, "plan_id": f"{fresh}-late", "icpc_date": (today - timedelta(days=40)).isoformat()}
    case_system = web.auth("case-sys-1", "case-system")
    async with web.http() as http:
        for doc in (plan_doc, late):
            r = await http.post("/api/plans", json=doc, headers=case_system)
            assert r.status_code == 201, r.text
        # A new incident asks for an early review: the team manager's decision (000 9.4.12).
        incident = {"kind": "new-incident", "date": today.isoformat()}
        r = await http.post(f"/api/plans/{fresh}/report-incident", json=incident, headers=case_system)
        assert r.status_code == 202
    # The late plan's visit recorded on the command line (no `by`).
    visit = ["record-visit", late["plan_id"], "--date", today.isoformat(), "--seen"]
    assert await cli.run(visit, client=web.env.client) == 0

    async with browser_page() as page:
        await _sign_in(page, web, "sw-demo")

        # My work: the first core group, due 10 working days after a conference 40 days ago.
        async def listed() -> None:
            await page.reload()
            assert late["plan_id"] in await page.text_content("main")

        await eventually(listed, timeout=20)
        main = await page.text_content("main")
        assert f"Today is {dates.prose_day(today)}." in main
        core_group = next(i for i in await _rows(page) if i[0] == late["plan_id"] and i[1] == "First core group")
        overdue = core_group[2]
        assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}\s*\d+ days overdue", overdue), overdue
        assert "-" not in overdue.split("overdue")[0]  # no ISO date
        # The early review request is the manager's to decide, not a worker's to do.
        assert "Early review decision" not in main
        await _accessible_at_both_widths(page, "my work", shots)

        # The visit form: empty, it answers in plain words, inline and in a summary.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto(f"{web.url}/plans/{late['plan_id']}")
        # The child's record is in the case system: a link there, no name here.
        record = page.get_by_role("link", name="Open the child's record")
        assert await record.get_attribute("href") == f"https://case.example.org/children/{late['child_ref']}"
        await page.get_by_role("button", name="Record visit").click()
        summary = await page.locator(".error-summary li").all_text_contents()
        assert summary == ["Enter the date of the visit", "Select whether the child was seen"], summary
        assert "Enter the date of the visit" in await page.text_content("#record-visit-date-error")
        assert await page.get_attribute(".error-summary a >> nth=0", "href") == "#record-visit-date-day"
        await _accessible_at_both_widths(page, "visit form errors")
        # Part of a date: the part missing is named, and what was typed is kept.
        await page.fill("#record-visit-date-day", str(today.day))
        await page.check("#seen-yes")
        await page.get_by_role("button", name="Record visit").click()
        assert "The date of the visit must include a month and a year" in await page.text_content(".error-summary")
        assert await page.input_value("#record-visit-date-day") == str(today.day)
        assert await page.is_checked("#seen-yes")

        # The same visit again on the page: shown before it is saved.
        await page.fill("#record-visit-date-month", str(today.month))
        await page.fill("#record-visit-date-year", str(today.year))
        await page.get_by_role("button", name="Record visit").click()
        warning = " ".join((await page.text_content(".warning-panel")).split())
        assert (
            f"A visit on {dates.prose_day(today)} is already recorded (no name given: counted as the lead " in warning
        )
        assert "social worker's, sw-demo)" in warning, warning
        assert "Record another visit that day?" in warning
        await _accessible_at_both_widths(page, "visit already recorded", shots)
        async with web.http() as http:
            status = (await http.get(f"/api/plans/{late['plan_id']}", headers=case_system)).json()
        assert len(_visits(status)) == 1
        # Said to be another: recorded.
        await page.get_by_role("button", name="Yes, record another visit").click()
        assert "Visit recorded" in await page.text_content("main")
        async with web.http() as http:
            status = (await http.get(f"/api/plans/{late['plan_id']}", headers=case_system)).json()
        assert [v.get("by") for v in _visits(status)] == [None, "sw-demo"]
        # The story: in date order, who and what in words.
        history = await _rows(page, "#history ~ .table-scroll table")
        assert [h[0] for h in history] == sorted(
            (h[0] for h in history), key=lambda d: datetime.strptime(d, "%a %d %b %Y")
        )
        assert ["Visit recorded: child seen", "Not recorded (counted as the lead social worker's, sw-demo)"] in [
            h[1:] for h in history
        ]
        assert ["Visit recorded: child seen", "sw-demo"] in [h[1:] for h in history]
        # The API refuses the same day again as the page asks about it: field `again`, nothing changed.
        async with web.http() as http:
            sw = web.auth("sw-demo", "social-worker")
            again = {"date": today.isoformat(), "seen": True}
            r = await http.post(f"/api/plans/{late['plan_id']}/record-visit", json=again, headers=sw)
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "again", r.text
            assert "is already recorded by sw-demo" in r.json()["errors"][0]["reason"]
            status = (await http.get(f"/api/plans/{late['plan_id']}", headers=case_system)).json()
            assert len(_visits(status)) == 2
        await page.get_by_role("button", name="Sign out").click()

        # The team manager's morning.
        await _sign_in(page, web, "tm-demo")
        await page.goto(f"{web.url}/work")
        decisions = await _rows(page, "#decisions + table")
        assert [d[:2] for d in decisions] == [[fresh, "Early review request (lead social worker sw-demo)"]], decisions
        assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4} due (today|in \d+ working days?|on \w+)", decisions[0][2])
        await _accessible_at_both_widths(page, "manager's work", shots)
        await page.goto(f"{web.url}/team")
        headings = await page.locator("main h2").all_text_contents()
        assert headings[:3] == ["Who is behind", "Decisions waiting for you", "Escalations to you"], headings
        summary_rows = await _rows(page, "#summary + .table-scroll table")
        sw = next(r for r in summary_rows if r[0] == "sw-demo")
        assert int(sw[1]) >= 1 and sw[3].startswith("First core group, ") and sw[3].endswith("days overdue"), sw
        assert int(sw[4]) >= 1  # escalated to the team manager
        escalations = await page.text_content("main")
        assert "First core group due " in escalations and "not done: escalated to you on " in escalations
        await _accessible_at_both_widths(page, "team", shots)
        # A filter is a plain GET form.
        await page.select_option("#filter-kind", "first-core-group")
        await page.get_by_role("button", name="Show").click()
        assert "kind=first-core-group" in page.url
        detail = await _rows(page, "#detail ~ .table-scroll table")
        assert detail and all(r[1] == "First core group" for r in detail), detail


async def _rows(page: Any, table: str = "main table") -> list[list[str]]:
    """The body rows of the first table matching `table`, each cell's text with spaces collapsed."""
    cells = (
        await page.locator(f"{table} >> nth=0")
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => [...r.children].map(c => c.innerText))")
    )
    return [[" ".join(c.split()) for c in row] for row in cells]
