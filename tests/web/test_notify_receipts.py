"""GOV.UK Notify end to end through the real server: a missing child's alert goes through Notify's
API (the local stand-in, over HTTP, with the official client) to the lead social worker by e-mail
and text; a `permanent-failure` receipt posted to `/api/notify/receipts` marks it not delivered on
the plan, and the team manager is told through Notify at once; a message with no receipt past
the limit counts as not delivered too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from activities.receipts import check_unconfirmed
from starters import render
from starters.notify_standin import SAMPLE_KEY, StandIn, StandInServer
from tests.helpers import eventually
from tests.web.conftest import Web
from workflows.calendar import local_date
from workflows.status import PlanStatus

CASE_SYSTEM = ("case-sys-1", "case-system")
CALLBACK_TOKEN = "callback-" + uuid.uuid4().hex


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    # Receipts only when the test posts them (or the stand-in is told to): a long delay.
    server = StandInServer(StandIn(receipt_delay_s=600, callback_token=CALLBACK_TOKEN)).start()
    monkeypatch.setenv("CPPLAN_NOTIFY_API_KEY", SAMPLE_KEY)
    monkeypatch.setenv("CPPLAN_NOTIFY_BASE_URL", server.base_url)
    monkeypatch.setenv("CPPLAN_NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN)
    for kind in ("REMINDER", "ESCALATION", "LETTER", "ALERT", "SMS"):
        monkeypatch.setenv(f"CPPLAN_NOTIFY_TEMPLATE_{kind}", f"t-{kind.lower()}")
    try:
        yield server.standin
    finally:
        server.stop()


def receipt(message: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "id": message["id"],
        "reference": message["reference"],
        "to": message["email_address"] or message["phone_number"],
        "status": status,
        "created_at": message["created_at"],
        "completed_at": message["created_at"],
        "sent_at": message["sent_at"],
        "notification_type": message["type"],
    }


def callback() -> dict[str, str]:
    return {"Authorization": f"Bearer {CALLBACK_TOKEN}"}


async def start_and_report_missing(web: Web, plan_doc: dict[str, Any], **lead: Any) -> str:
    plan_doc["lead_social_worker"] = {**plan_doc["lead_social_worker"], **lead}
    plan_doc["team_manager"] = {**plan_doc["team_manager"], "mobile": "07700900124"}
    async with web.http() as http:
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 201, r.text
        today = local_date(await web.env.get_current_time()).isoformat()
        r = await http.post(
            f"/api/plans/{plan_doc['plan_id']}/report-missing", json={"date": today}, headers=web.auth(*CASE_SYSTEM)
        )
        assert r.status_code == 202, r.text
    return str(plan_doc["plan_id"])


async def test_a_failed_alert_is_not_told_and_the_team_manager_is_told_through_notify(
    web: Web, plan_doc: dict[str, Any], standin: StandIn
) -> None:
    plan_id = await start_and_report_missing(web, plan_doc, mobile="07700 900123")

    async def alerted() -> list[dict[str, Any]]:
        sent = [m for m in standin.messages if m["personalisation"]["subject"].endswith("child reported missing")]
        assert sorted(m["type"] for m in sent) == ["email", "sms"], standin.messages
        return sent

    sent = await eventually(alerted)
    assert {m["email_address"] or m["phone_number"] for m in sent} == {"sw-demo@example.org", "07700 900123"}
    email = next(m for m in sent if m["type"] == "email")

    async with web.http() as http:
        r = await http.post("/api/notify/receipts", json=receipt(email, "permanent-failure"), headers=callback())
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "permanent-failure", "plan_told": True}
        # Notify may send it again: recorded once, nobody told twice.
        again = await http.post("/api/notify/receipts", json=receipt(email, "permanent-failure"), headers=callback())
        assert again.json()["plan_told"] is False

        async def manager_told() -> list[dict[str, Any]]:
            told = [m for m in standin.messages if "sw-demo was not told" in m["personalisation"]["subject"]]
            # Urgent still: the alert it stands for was a missing child's.
            assert sorted((m["type"], m["email_address"] or m["phone_number"]) for m in told) == [
                ("email", "tm-demo@example.org"),
                ("sms", "07700900124"),
            ]
            return told

        await eventually(manager_told)
        status = (await http.get(f"/api/plans/{plan_id}", headers=web.auth(*CASE_SYSTEM))).json()
        [not_told] = [h for h in status["history"] if h["event"] == "notification-not-delivered"]
        assert (not_told["to"], not_told["status"], not_told["told"]) == ("sw-demo", "permanent-failure", "tm-demo")
        assert not_told["key"] == f"{plan_id}:missing-1:sw-demo"
        assert any(e["kind"] == "not-told" and e["to"] == "tm-demo" for e in status["escalations"])
        assert "not delivered (not told)" in render.status(PlanStatus.model_validate(status))

        work = (await http.get("/api/work", headers=web.auth("tm-demo", "team-manager"))).json()
        [undelivered] = [u for u in work["undelivered"] if u["plan_id"] == plan_id]
        assert (undelivered["to"], undelivered["medium"], undelivered["plan_told"]) == ("sw-demo", "email", True)
    assert sum(1 for m in standin.messages if "was not told" in m["personalisation"]["subject"]) == 2


async def test_receipts_need_notifys_token_and_a_known_message(
    web: Web, plan_doc: dict[str, Any], standin: StandIn
) -> None:
    plan_id = await start_and_report_missing(web, plan_doc)
    email = await eventually(lambda: _first(standin))
    async with web.http() as http:
        body = receipt(email, "permanent-failure")
        assert (await http.post("/api/notify/receipts", json=body)).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await http.post("/api/notify/receipts", json=body, headers=wrong)).status_code == 401
        staff = web.auth(*CASE_SYSTEM)  # a signed-in person is not Notify
        assert (await http.post("/api/notify/receipts", json=body, headers=staff)).status_code == 401
        unknown = {**body, "id": str(uuid.uuid4()), "reference": "cpplan-unknown"}
        r = await http.post("/api/notify/receipts", json=unknown, headers=callback())
        assert r.status_code == 404 and r.json()["type"] == "https://cpplan.invalid/problems/not-found"
        r = await http.post("/api/notify/receipts", json={"id": email["id"]}, headers=callback())
        assert r.status_code == 422
        # Delivered: nothing to tell.
        r = await http.post("/api/notify/receipts", json=receipt(email, "delivered"), headers=callback())
        assert r.json() == {"status": "delivered", "plan_told": False}
        status = (await http.get(f"/api/plans/{plan_id}", headers=staff)).json()
        assert not [h for h in status["history"] if h["event"] == "notification-not-delivered"]


async def test_no_receipt_within_the_limit_is_not_told(
    web: Web, plan_doc: dict[str, Any], standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPPLAN_NOTIFY_RECEIPT_LIMIT", "0")
    plan_id = await start_and_report_missing(web, plan_doc)
    await eventually(lambda: _first(standin))

    assert await check_unconfirmed(web.env.client) == 1
    assert await check_unconfirmed(web.env.client) == 0  # once

    async def recorded() -> None:
        async with web.http() as http:
            status = (await http.get(f"/api/plans/{plan_id}", headers=web.auth(*CASE_SYSTEM))).json()
        [not_told] = [h for h in status["history"] if h["event"] == "notification-not-delivered"]
        assert (not_told["status"], not_told["told"]) == ("no-receipt", "tm-demo")

    await eventually(recorded)


async def _first(standin: StandIn) -> dict[str, Any]:
    assert standin.messages, "nothing sent yet"
    return standin.messages[0]


async def test_the_plan_page_and_the_team_page_show_a_message_not_delivered(
    web: Web, plan_doc: dict[str, Any], standin: StandIn
) -> None:
    """Who it was for, how, what Notify said in words, the date in words and who was told
    instead, on the plan's page; the team manager's Team page lists it too. A plan whose
    messages all arrived has no such section."""
    from starters import dates
    from tests.web.browser import browser_page
    from tests.web.test_pages import _accessible, _rows, _sign_in

    plan_id = await start_and_report_missing(web, plan_doc, mobile="07700 900123")
    sms = await eventually(lambda: _sent(standin, "sms"))

    async with browser_page() as page:
        await _sign_in(page, web, "sw-demo")
        await page.goto(f"{web.url}/plans/{plan_id}")
        assert "Messages not delivered" not in await page.text_content("main")

        async with web.http() as http:
            r = await http.post("/api/notify/receipts", json=receipt(sms, "permanent-failure"), headers=callback())
            assert r.status_code == 200 and r.json()["plan_told"] is True, r.text

        async def shown() -> None:
            await page.reload()
            assert "Messages not delivered" in await page.text_content("main")

        await eventually(shown, timeout=20)
        async with web.http() as http:
            status = (await http.get(f"/api/plans/{plan_id}", headers=web.auth(*CASE_SYSTEM))).json()
            work = (await http.get("/api/work", headers=web.auth("tm-demo", "team-manager"))).json()
        [not_told] = [h for h in status["history"] if h["event"] == "notification-not-delivered"]
        [undelivered] = [u for u in work["undelivered"] if u["plan_id"] == plan_id]
        rows = await _rows(page, "#not-delivered ~ .table-scroll table")
        assert rows == [
            [
                "sw-demo",
                "Text message",
                "The phone number is wrong or no longer in use",
                dates.prose_day(not_told["on"]),
                "Yes, tm-demo was told at once",
            ]
        ], rows
        history = [h[1] for h in await _rows(page, "#history ~ .table-scroll table")]
        assert "A text message to sw-demo was not delivered: tm-demo told" in history, history
        assert "tm-demo told that a message was not delivered" in history, history
        await _accessible(page, "plan with a message not delivered")
        await page.get_by_role("button", name="Sign out").click()

        await _sign_in(page, web, "tm-demo")
        await page.goto(f"{web.url}/team")
        listed = await page.locator("#not-delivered + p + ul li").all_text_contents()
        assert [" ".join(item.split()) for item in listed] == [
            f"Plan {plan_id}: sw-demo's text message, {dates.prose_day(undelivered['at'])}: the phone number is wrong or no "
            "longer in use. The next person up was told."
        ], listed
        await _accessible(page, "team with a message not delivered")


async def _sent(standin: StandIn, kind: str) -> dict[str, Any]:
    found = [m for m in standin.messages if m["type"] == kind]
    assert found, "nothing sent that way yet"
    return found[0]
