"""The status gives a plan's newest history entries and how many there are; the whole history
comes from the read model a page at a time, to whoever may see the plan."""

from __future__ import annotations

from typing import Any

from tests.helpers import eventually
from tests.web.conftest import Web


async def test_the_whole_history_a_page_at_a_time(web: Web, plan_doc: dict[str, Any]) -> None:
    plan_id = plan_doc["plan_id"]
    lead = web.auth("sw-demo", "social-worker")
    async with web.http() as http:
        r = await http.post("/api/plans", json=plan_doc, headers=web.auth("case-sys-1", "case-system"))
        assert r.status_code == 201, r.text
        for n, seen in enumerate((True, False, True)):
            r = await http.post(
                f"/api/plans/{plan_id}/record-visit",
                json={"date": plan_doc["icpc_date"], "seen": seen, "again": n > 0},
                headers={**lead, "Idempotency-Key": f"visit-{n}"},
            )
            assert r.status_code == 200, r.text
        status = (await http.get(f"/api/plans/{plan_id}", headers=lead)).json()
        assert status["history_total"] == len(status["history"]) == 4
        assert status["history_counts"] == {"plan-started": 1, "visit": 3}

        async def saved() -> None:
            r = await http.get(f"/api/plans/{plan_id}/history?limit=500", headers=lead)
            assert r.status_code == 200 and r.json()["total"] == 4, r.text

        await eventually(saved, timeout=20)
        pages, cursor = [], 0
        while cursor is not None:
            r = await http.get(f"/api/plans/{plan_id}/history?limit=3&cursor={cursor}", headers=lead)
            assert r.status_code == 200, r.text
            pages.append([e["event"] for e in r.json()["entries"]])
            cursor = r.json()["next_cursor"]
        assert pages == [["plan-started", "visit", "visit"], ["visit"]]
        page = (await http.get(f"/api/plans/{plan_id}/history?limit=3", headers=lead)).json()
        assert [e["position"] for e in page["entries"]] == [0, 1, 2]
        assert {k: v for k, v in page["entries"][0].items() if k != "position"} == status["history"][0]

        r = await http.get(f"/api/plans/{plan_id}/history", headers=web.auth("sw-other", "social-worker"))
        assert r.status_code == 403
        r = await http.get("/api/plans/no-such-plan/history", headers=lead)
        assert r.status_code == 404
        r = await http.get(f"/api/plans/{plan_id}/history?limit=501", headers=lead)
        assert r.status_code == 422
