"""Who may send what, per plan, through the API against a real (time-skipping) server: `ops`
never writes, seeing every plan is not being on it, the family are never staff, an escalation
goes to a manager, and an ending recorded in error is put right by the plan's service manager."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from starters.cases import PLANS
from tests.web.conftest import Web
from workflows.calendar import local_date

CASE_SYSTEM = ("case-sys-1", "case-system")
WORKER = ("sw-demo", "social-worker")
MANAGER = ("tm-demo", "team-manager")
SERVICE_MANAGER = ("sm-demo", "service-manager")


async def started(web: Web, http: Any, plan_doc: dict[str, Any]) -> str:
    r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
    assert r.status_code == 201, r.text
    return plan_doc["plan_id"]


async def today(web: Web) -> str:
    return local_date(await web.env.get_current_time()).isoformat()


async def status(web: Web, http: Any, plan_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/plans/{plan_id}", headers=web.auth(*MANAGER))
    assert r.status_code == 200, r.text
    return r.json()


async def test_ops_and_a_service_manager_not_on_the_plan_cannot_end_it(web: Web, plan_doc: dict[str, Any]) -> None:
    async with web.http() as http:
        plan_id = await started(web, http, plan_doc)
        day = await today(web)
        # ops read; they never write, whatever the message.
        for dash in PLANS.commands:
            r = await http.post(f"/api/plans/{plan_id}/{dash}", json={"date": day}, headers=web.auth("ops-1", "ops"))
            assert r.status_code == 403, (dash, r.text)
        assert (await http.get(f"/api/plans/{plan_id}", headers=web.auth("ops-1", "ops"))).status_code == 200
        # A service manager sees every plan, but is on no role of this one.
        for dash in ("report-death", "report-missing"):
            r = await http.post(
                f"/api/plans/{plan_id}/{dash}", json={"date": day}, headers=web.auth("sm-other", "service-manager")
            )
            assert r.status_code == 403 and r.json()["errors"][0]["field"] == "by", r.text
        # Nor a record without a `by` (the API alone stands between it and the plan).
        r = await http.post(
            f"/api/plans/{plan_id}/record-core-group",
            json={"date": day},
            headers=web.auth("sm-other", "service-manager"),
        )
        assert r.status_code == 403, r.text
        # A worker signed in whose id is the child's parent is not one of the plan's staff.
        r = await http.post(
            f"/api/plans/{plan_id}/report-death", json={"date": day}, headers=web.auth("par-demo", "social-worker")
        )
        assert r.status_code == 403, r.text
        now = await status(web, http, plan_id)
        assert now["state"] == "active" and not now["missing"]
        assert now["entitled"]["service-manager"] == ["sm-demo"]


async def test_the_family_are_never_staff_and_escalations_go_to_managers(
    web: Web, plan_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with web.http() as http:
        plan_id = await started(web, http, plan_doc)
        # A parent of the plan as lead social worker: refused by the workflow, typed, so a 403.
        r = await http.post(
            f"/api/plans/{plan_id}/change-lead-social-worker",
            json={"person": {"id": "par-demo", "email": "par-demo@example.org"}},
            headers=web.auth(*MANAGER),
        )
        assert r.status_code == 403 and r.json()["errors"][0]["field"] == "person.id", r.text
        # An address a mailer would refuse later is refused now.
        r = await http.post(
            f"/api/plans/{plan_id}/change-lead-social-worker",
            json={"person": {"id": "sw-new", "email": "a@evil.com,b.org"}},
            headers=web.auth(*MANAGER),
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "person.email", r.text
        escalate = f"/api/plans/{plan_id}/escalate"
        for to in ("nobody-at-all", "tm-demo", "par-demo"):  # unknown, oneself, the family
            r = await http.post(escalate, json={"to": to}, headers=web.auth(*MANAGER))
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to", (to, r.text)
        # One of the plan's managers, or a manager in the organisation's directory.
        r = await http.post(escalate, json={"to": "sm-demo"}, headers=web.auth(*MANAGER))
        assert r.status_code == 202, r.text
        directory = tmp_path / "staff.txt"
        directory.write_text("# staff id, role\nhos-1 head-of-service\nsw-9, social-worker\n")
        monkeypatch.setenv("CPPLAN_STAFF_FILE", str(directory))
        r = await http.post(escalate, json={"to": "hos-1"}, headers=web.auth(*MANAGER))
        assert r.status_code == 202, r.text
        r = await http.post(escalate, json={"to": "sw-9"}, headers=web.auth(*MANAGER))
        assert r.status_code == 422, r.text
        escalated = [
            h["to"] for h in (await status(web, http, plan_id))["history"] if h["event"] == "escalated-by-manager"
        ]
        assert escalated == ["sm-demo", "hos-1"]


async def test_a_death_reported_in_error_is_put_right_by_the_plans_service_manager(
    web: Web, plan_doc: dict[str, Any]
) -> None:
    async with web.http() as http:
        plan_id = await started(web, http, plan_doc)
        await web.env.sleep(timedelta(days=3))
        before = await status(web, http, plan_id)
        clocks = {(o["id"], o["due"]) for o in before["obligations"] if o["status"] != "met"}
        assert ("first-core-group", before["next_due"]["due"]) in clocks
        # (A report's date is checked against London's real today, which the conference is.)
        r = await http.post(
            f"/api/plans/{plan_id}/report-death", json={"date": plan_doc["icpc_date"]}, headers=web.auth(*WORKER)
        )
        assert r.status_code == 202, r.text
        ended = await status(web, http, plan_id)
        assert ended["state"] == "ended" and ended["end_reason"] == "child died"
        death = [h for h in ended["history"] if h["event"] == "practice-review-to-be-considered"]
        assert death and death[0]["by"] == "sw-demo"  # who reported it
        # Not the team manager's to put right, nor a service manager's who is not on the plan.
        reopen = f"/api/plans/{plan_id}/reopen-plan"
        assert (await http.post(reopen, json={}, headers=web.auth(*MANAGER))).status_code == 403
        r = await http.post(reopen, json={}, headers=web.auth("sm-other", "service-manager"))
        assert r.status_code == 403, r.text
        await web.env.sleep(timedelta(days=10))
        r = await http.post(reopen, json={"reason_ref": "err-1"}, headers=web.auth(*SERVICE_MANAGER))
        assert r.status_code == 200 and r.json()["state"] == "active", r.text
        after = await status(web, http, plan_id)
        assert after["state"] == "active" and after["end_reason"] is None
        # Its clocks as they were: every obligation the death closed is back, due as it was.
        assert clocks <= {(o["id"], o["due"]) for o in after["obligations"]}
        events = [h["event"] for h in after["history"]]
        assert events.index("plan-ended") < events.index("plan-reopened") and events.count("plan-reopened") == 1
        reopened = next(h for h in after["history"] if h["event"] == "plan-reopened")
        assert reopened["by"] == "sm-demo" and reopened["reason_ref"] == "err-1"
        # Everyone told of the death is told it was wrong.
        # (the senior manager and the partnership; the plan's people have a letter too).
        told_of_death = {e["to"] for e in ended["escalations"] if e["kind"] == "child-died"}
        told_now = {e["to"] for e in after["escalations"] if e["kind"] == "ending-recorded-in-error"}
        assert told_of_death == told_now == {"sm-demo", "london-safeguarding-partnership"}
        # Only once: the plan is active, so there is nothing to reopen.
        r = await http.post(reopen, json={}, headers=web.auth(*SERVICE_MANAGER))
        assert r.status_code == 422, r.text


async def test_an_ending_is_final_after_30_days(web: Web, plan_doc: dict[str, Any]) -> None:
    async with web.http() as http:
        plan_id = await started(web, http, plan_doc)
        r = await http.post(
            f"/api/plans/{plan_id}/report-death", json={"date": await today(web)}, headers=web.auth(*SERVICE_MANAGER)
        )
        assert r.status_code == 202, r.text
        handle = web.env.client.get_workflow_handle(f"cp-plan-{plan_id}")
        # The conference's record is still owed, and then the ending may be put right for 30 days.
        for ident in ("conference-decisions-1", "conference-record-1"):
            r = await http.post(
                f"/api/plans/{plan_id}/record-completion",
                json={"obligation_id": ident, "date": await today(web)},
                headers=web.auth(*WORKER),
            )
            assert r.status_code in (200, 422), r.text
        await web.env.sleep(timedelta(days=29))
        assert (await handle.describe()).status is not None and (await status(web, http, plan_id))["state"] == "ended"
        from temporalio.client import WorkflowExecutionStatus

        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await web.env.sleep(timedelta(days=2))
        result = await handle.result()
        assert result["state"] == "ended"
        r = await http.post(f"/api/plans/{plan_id}/reopen-plan", json={}, headers=web.auth(*SERVICE_MANAGER))
        assert r.status_code == 404, r.text
