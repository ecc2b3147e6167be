"""The API's conventions against a real server: where a new plan is, a status's version, the
work list a page at a time, and one problem shape for every failure, Starlette's own included."""

from __future__ import annotations

from typing import Any

from starters.web import audit
from tests.web.conftest import Web
from workflows.calendar import local_date

CASE_SYSTEM = ("case-sys-1", "case-system")
WORKER = ("sw-demo", "social-worker")
PROBLEM = "application/problem+json"


async def test_location_etag_and_paging(web: Web, plan_doc: dict[str, Any]) -> None:
    plan_id = plan_doc["plan_id"]
    async with web.http() as http:
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
        assert r.status_code == 201 and r.headers["location"] == f"/api/plans/{plan_id}", r.text
        again = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
        assert again.status_code == 200 and again.headers["location"] == r.headers["location"]

        r = await http.get(r.headers["location"], headers=web.auth(*WORKER))
        assert r.status_code == 200 and r.json()["plan_id"] == plan_id
        tag = r.headers["etag"]
        same = await http.get(f"/api/plans/{plan_id}", headers={**web.auth(*WORKER), "If-None-Match": tag})
        assert same.status_code == 304 and same.headers["etag"] == tag and same.content == b""
        # A visit changes the status: its version too.
        today = local_date(await web.env.get_current_time()).isoformat()
        visit = {"date": today, "seen": True, "seen_alone": True}
        assert (await http.post(f"/api/plans/{plan_id}/record-visit", json=visit, headers=web.auth(*WORKER))).is_success
        changed = await http.get(f"/api/plans/{plan_id}", headers={**web.auth(*WORKER), "If-None-Match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag

        # The work list, one item a page, each page's `next` leading to the one after.
        whole = await http.get("/api/work", params={"due-within": 60}, headers=web.auth(*WORKER))
        everything = whole.json()["items"]
        assert len(everything) >= 2 and whole.json()["next"] is None, whole.text
        pages: list[dict[str, Any]] = []
        params: dict[str, Any] = {"due-within": 60, "limit": 1}
        while True:
            r = await http.get("/api/work", params=params, headers=web.auth(*WORKER))
            assert r.status_code == 200 and len(r.json()["items"]) == 1, r.text
            pages += r.json()["items"]
            if r.json()["next"] is None:
                break
            params["cursor"] = r.json()["next"]
        assert pages == everything
        r = await http.get("/api/work", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=web.auth(*WORKER))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


async def test_one_problem_shape_for_every_failure(web: Web, plan_doc: dict[str, Any]) -> None:
    plan_id = plan_doc["plan_id"]
    auth = web.auth(*CASE_SYSTEM)
    async with web.http() as http:
        # Not JSON, however: one 400.
        for body in (b'{"plan_id": ', '{"plan_id": "caf\xe9"}'.encode("latin-1"), b"NaN", b""):
            r = await http.post("/api/plans", content=body, headers={**auth, "Content-Type": "application/json"})
            assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, (body, r.text)
            assert r.json()["type"] == "https://cpplan.invalid/problems/malformed" and r.json()["errors"] == []
        # Not sent as JSON: 415.
        r = await http.post("/api/plans", content=b"plan_id=x", headers={**auth, "Content-Type": "text/plain"})
        assert r.status_code == 415 and r.json()["type"] == "https://cpplan.invalid/problems/unsupported-media-type"
        # A method the route does not take: 405, saying which it does.
        r = await http.delete("/api/plans", headers=auth)
        assert r.status_code == 405 and r.headers["allow"] == "POST" and r.headers["content-type"] == PROBLEM
        # 10.0 is the integer 10 (JSON Schema's reading); 10.5 is not a whole number.
        doc = {**plan_doc, "visit_interval_working_days": 10.0}
        r = await http.post("/api/plans", json=doc, headers=auth)
        assert r.status_code == 201, r.text
        doc = {**plan_doc, "plan_id": plan_id + "-b", "visit_interval_working_days": 10.5}
        r = await http.post("/api/plans", json=doc, headers=auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "visit_interval_working_days"
        # A check across fields names each field.
        doc = {**plan_doc, "plan_id": plan_id + "-c", "first_review_date": plan_doc["icpc_date"]}
        r = await http.post("/api/plans", json=doc, headers=auth)
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["first_review_date"], r.text
        # A plan id with a control character is refused, and not kept in the audit trail as sent.
        r = await http.get("/api/plans/bad%07id", headers=auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "plan_id", r.text
        assert r.json()["errors"][0]["reason"].startswith("must be an opaque reference")
    rows = audit.rows()
    malformed = [row for row in rows if row["status"] == 400]
    assert len(malformed) == 4 and all(row["who"] == "case-sys-1" for row in malformed)
    assert not any("\x07" in (row["plan_id"] or "") for row in rows)
    assert any(row["status"] == 422 and row["action"] == "status" and row["plan_id"] is None for row in rows)
