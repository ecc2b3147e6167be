"""The pages in a browser: a practitioner records a visit, a manager authorises an early review;
every page is checked with axe-core for serious and critical WCAG 2.2 AA violations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

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
