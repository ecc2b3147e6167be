"""The API against a real server: who may start, record and decide, and what is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starters.web import audit
from tests.helpers import eventually
from tests.web.conftest import Web
from workflows.calendar import local_date

CASE_SYSTEM = ("case-sys-1", "case-system")
WORKER = ("sw-demo", "social-worker")
MANAGER = ("tm-demo", "team-manager")


async def test_no_token_is_401(web: Web, plan_doc: dict[str, Any]) -> None:
    async with web.http() as http:
        assert (await http.get("/api/plans/anything")).status_code == 401
        r = await http.post("/api/plans", json=plan_doc)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "https://cpplan.invalid/problems/not-signed-in"
        assert problem["title"] == "Not signed in" and problem["status"] == 401 and problem["instance"] == "/api/plans"
        assert r.headers["www-authenticate"] == "Bearer"
        # Signing in comes first: a body that is not JSON, without a token, is a 401 too.
        r = await http.post("/api/plans", content=b"{", headers={"Content-Type": "application/json"})
        assert r.status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert (
            await http.post(f"/api/plans/{plan_doc['plan_id']}/record-visit", json={}, headers=bad)
        ).status_code == 401
        # A token signed by another key is refused as well.
        import tempfile
        from pathlib import Path

        from starters.web.devkey import dev_token, ensure_dev_key

        other = ensure_dev_key(Path(tempfile.mkdtemp()))
        forged = dev_token(other, "tm-demo", ["team-manager"], issuer=web.settings.issuer, audience="cpplan")
        r = await http.get("/api/work", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
    rows = audit.rows()
    assert rows and all(row["who"] is None and row["status"] == 401 for row in rows)


async def test_start_record_decide_and_audit(web: Web, plan_doc: dict[str, Any]) -> None:
    plan_id = plan_doc["plan_id"]
    async with web.http() as http:
        # Start: only a case system; 201, then 200 for the same document, 409 for another.
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*WORKER))
        assert r.status_code == 403
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 201, r.text
        assert r.json()["workflow_id"] == f"cp-plan-{plan_id}"
        assert (await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))).status_code == 200
        changed = {**plan_doc, "category": "physical"}
        r = await http.post("/api/plans", json=changed, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 409 and [e["field"] for e in r.json()["errors"]] == ["category"]
        assert r.json()["type"] == "https://cpplan.invalid/problems/conflict"
        bad = {**plan_doc, "category": "unknown", "team_manager": {"id": "Jane Smith"}}
        r = await http.post("/api/plans", json=bad, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 422 and r.json()["type"] == "https://cpplan.invalid/problems/refused"
        assert {e["field"] for e in r.json()["errors"]} >= {"category", "team_manager.id"}

        today = local_date(await web.env.get_current_time()).isoformat()
        visit = f"/api/plans/{plan_id}/record-visit"
        # by is the signed-in person; someone else's name is refused.
        r = await http.post(visit, json={"date": today, "seen": True, "by": "tm-demo"}, headers=web.auth(*WORKER))
        assert r.status_code == 403
        r = await http.post(visit, json={"date": today, "seen": "yes"}, headers=web.auth(*WORKER))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "seen"
        headers = {**web.auth(*WORKER), "Idempotency-Key": "visit-001"}
        r = await http.post(visit, json={"date": today, "seen": True, "seen_alone": True}, headers=headers)
        assert r.status_code == 200, r.text
        again = await http.post(visit, json={"date": today, "seen": True, "seen_alone": True}, headers=headers)
        assert again.status_code == 200 and again.json() == r.json()  # the same update, not a second visit
        # The same key with another body is another request: a second visit that day, refused
        # unless it says it is another; then recorded, not answered with the first.
        other = await http.post(visit, json={"date": today, "seen": False}, headers=headers)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "again", other.text
        assert "is already recorded by sw-demo" in other.json()["errors"][0]["reason"]
        other = await http.post(visit, json={"date": today, "seen": False, "again": True}, headers=headers)
        assert other.status_code == 200 and other.json() != r.json()
        # Without a key, the same record sent again (a form sent twice) is one record, as from
        # the command line.
        once = {"date": today, "seen": True, "seen_alone": False, "again": True}
        first = await http.post(visit, json=once, headers=web.auth(*WORKER))
        twice = await http.post(visit, json=once, headers=web.auth(*WORKER))
        assert first.status_code == twice.status_code == 200 and twice.json() == first.json()
        # A worker not on this plan may neither read nor record.
        assert (
            await http.get(f"/api/plans/{plan_id}", headers=web.auth("sw-other", "social-worker"))
        ).status_code == 403
        missing = await http.get("/api/plans/nope-1", headers=web.auth(*CASE_SYSTEM))
        assert missing.status_code == 404 and missing.json()["errors"] == []
        # Every error has one shape, Starlette's own included (no such message, no such route).
        for path in (f"/api/plans/{plan_id}/record-birthday", "/api/nowhere"):
            r = await http.post(path, json={}, headers=web.auth(*CASE_SYSTEM))
            assert r.status_code == 404 and set(r.json()) == {"type", "title", "status", "detail", "instance", "errors"}
            assert r.headers["content-type"] == "application/problem+json", (path, r.text)
        # A manager's decision needs a manager.
        r = await http.post(
            f"/api/plans/{plan_id}/set-visit-frequency", json={"interval_working_days": 5}, headers=web.auth(*WORKER)
        )
        assert r.status_code == 403
        # Signals: 202.
        r = await http.post(
            f"/api/plans/{plan_id}/report-incident",
            json={"kind": "new-incident", "date": today},
            headers=web.auth(*WORKER),
        )
        assert r.status_code == 202
        # A report the plan could only keep as unreadable is refused, as the command line refuses it.
        r = await http.post(
            f"/api/plans/{plan_id}/report-death", json={"date": "2099-01-01"}, headers=web.auth(*WORKER)
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text
        # A manager who is not one of this plan's may see it but not escalate it: nothing is sent.
        r = await http.post(
            f"/api/plans/{plan_id}/escalate", json={"to": "hos-1"}, headers=web.auth("sm-other", "service-manager")
        )
        assert r.status_code == 403 and r.json()["errors"][0]["field"] == "by", r.text

        # A case system relays records without naming a person as `by`.
        soon = (local_date(await web.env.get_current_time()) + timedelta(days=3)).isoformat()
        r = await http.post(
            f"/api/plans/{plan_id}/schedule-meeting",
            json={"kind": "core_group", "date": soon},
            headers=web.auth(*CASE_SYSTEM),
        )
        assert r.status_code == 200, r.text

        # Three weeks on, the first core group is overdue: the team's work lists it.
        await web.env.sleep(timedelta(days=21))

        async def overdue_listed() -> list[dict[str, Any]]:
            r = await http.get("/api/work", params={"team": "tm-demo"}, headers=web.auth(*MANAGER))
            assert r.status_code == 200, r.text
            items = [i for i in r.json()["items"] if i["plan_id"] == plan_id and i["overdue"]]
            assert any(i["kind"] == "first-core-group" for i in items), r.json()
            return items

        items = await eventually(overdue_listed, timeout=30)
        assert items[0]["overdue"]
        # A team manager sees their own team only.
        r = await http.get("/api/work", params={"team": "tm-other"}, headers=web.auth(*MANAGER))
        assert r.status_code == 403

        # Ending at the first review: not the worker's decision; the plan's team manager's.
        today = local_date(await web.env.get_current_time()).isoformat()
        end = {"date": today, "outcome": "end", "exceptional_reason": "perpetrator-custody"}
        review = f"/api/plans/{plan_id}/record-review-conference"
        r = await http.post(review, json=end, headers=web.auth(*WORKER))
        assert r.status_code == 403, r.text
        # A manager who is on no role of this plan: seeing every plan is not being on this one.
        r = await http.post(review, json=end, headers=web.auth("tm-other", "team-manager", "service-manager"))
        assert r.status_code == 403 and "'tm-other' is not this plan's lead social worker" in r.json()["detail"]
        assert r.json()["type"] == "https://cpplan.invalid/problems/forbidden"
        assert r.json()["errors"][0]["field"] == "by", r.text
        r = await http.post(review, json=end, headers=web.auth(*MANAGER))
        assert r.status_code == 200, r.text

        r = await http.get(f"/api/plans/{plan_id}", headers=web.auth(*MANAGER))
        assert r.status_code == 200
        status = r.json()
        ended = [h for h in status["history"] if h["event"].startswith("review") and h.get("by") == "tm-demo"]
        assert ended, status["history"]
        scheduled = [h for h in status["history"] if h["event"] == "meeting-scheduled"]
        assert len(scheduled) == 1 and "by" not in scheduled[0]
        visits = [h for h in status["history"] if h["event"] == "visit"]
        # One seen visit however often it was sent with its key, the not-seen one sent after,
        # and one for the visit sent twice without a key.
        assert [(v["seen"], v["by"]) for v in visits] == [(True, "sw-demo"), (False, "sw-demo"), (True, "sw-demo")]

    rows = audit.rows(plan_id)
    seen = {(r["who"], r["action"], r["status"]) for r in rows}
    assert ("case-sys-1", "start", 201) in seen
    assert ("sw-demo", "record-visit", 200) in seen
    assert ("sw-demo", "record-review-conference", 403) in seen
    assert ("tm-demo", "record-review-conference", 200) in seen
    assert ("tm-demo", "status", 200) in seen  # reads are audited: who looked at the plan
    assert ("sw-other", "status", 403) in seen
    assert all(r["at"] is not None and r["via"] == "api" for r in rows)


async def test_openapi_documents_every_message(web: Web) -> None:
    from starters.cases import PLANS

    async with web.http() as http:
        spec = (await http.get("/api/openapi.json")).json()
    for dash, msg in PLANS.commands.items():
        path = spec["paths"][f"/api/plans/{{plan_id}}/{dash}"]["post"]
        assert "requestBody" in path, dash
        assert ("202" if msg.kind == "signal" else "200") in path["responses"]
    schemas = spec["components"]["schemas"]
    assert "RecordVisitRequest" in schemas and "PlanStart" in schemas
    assert "by" not in schemas["AuthoriseEarlyReviewRequest"].get("required", [])
