"""The `status` query's JSON is the contract case systems read (docs/contract.md, "Query
`status`"): the documented keys are there, with the fields the query has always had, in their
order, and optional fields are left out rather than sent as null."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import london, plan_doc, running_worker, skip_to, start_plan_workflow
from tests.helpers.plan_scenario import Plan

# docs/contract.md: "Returns JSON with at least: ..."
CONTRACT_KEYS = {"plan_id", "policy", "state", "icpc_date", "obligations", "escalations", "next_due", "history"}
CONTRACT_OBLIGATION_KEYS = {"id", "kind", "due", "status"}
CONTRACT_ESCALATION_KEYS = {"kind", "level", "to", "at"}

PLAN_KEYS = [
    "plan_id",
    "child_ref",
    "policy",
    "state",
    "icpc_date",
    "conference_kind",
    "lead_social_worker",
    "team_manager",
    "managers",
    "entitled",
    "visit_interval_working_days",
    "reviews_held",
    "missing",
    "ended_on",
    "end_reason",
    "obligations",
    "overdue_count",
    "escalations",
    "next_due",
    "history",
    "history_total",
    "history_counts",
]
OBLIGATION_KEYS = ["id", "kind", "due", "status", "met_on", "limit", "hold_by", "member_id", "description", "rule"]


def in_order(keys: list[str], canonical: list[str]) -> bool:
    return all(k in canonical for k in keys) and keys == sorted(keys, key=canonical.index)


async def test_the_status_query_has_the_contract_keys_in_their_order(env, db_url):
    # A weekday a week ahead of the test server's clock, so the test never dates.
    day = (await env.get_current_time()).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    async with running_worker(env) as tq:
        await skip_to(env, london(day, 11))
        doc = plan_doc(icpc_date=day)
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()
        await plan.at(london(day, 15))
        visit = {"date": day.isoformat(), "seen": True, "parents_refused_seen_alone": True}
        await plan.update("record_visit", visit)
        await plan.signal("report_incident", {"kind": "new-incident", "date": day.isoformat()})
        await plan.at(london(day, 16))
        status = await plan.status()

    assert set(status) >= CONTRACT_KEYS
    assert list(status) == PLAN_KEYS
    assert status["ended_on"] is None and status["end_reason"] is None  # sent as null, as always

    for ob in status["obligations"]:
        assert set(ob) >= CONTRACT_OBLIGATION_KEYS and in_order(list(ob), OBLIGATION_KEYS), ob
        assert None not in ob.values(), ob
    met = next(o for o in status["obligations"] if o["id"] == "visit-1")
    assert met["met_on"] == day.isoformat() and met["status"] == "met"
    assert "limit" in next(o for o in status["obligations"] if o["id"] == "first-core-group")

    assert all(set(e) >= CONTRACT_ESCALATION_KEYS for e in status["escalations"])
    shapes = {tuple(e) for e in status["escalations"]}
    assert shapes == {("kind", "level", "to", "at"), ("kind", "level", "to", "at", "obligation_id")}
    assert all(e["at"].endswith("+00:00") for e in status["escalations"])  # isoformat, not "Z"

    assert list(status["next_due"]) == ["id", "kind", "due", "description"]
    visit_entry = next(h for h in status["history"] if h["event"] == "visit")
    assert list(visit_entry)[:3] == ["at", "on", "event"] and visit_entry["seen"] is True
    assert visit_entry["seen_alone"] is False and "by" not in visit_entry  # None details are left out
