"""The status the workflow saves to the read model in every task (`PlanEngine.status_json`) is
exactly the status query's (`status(now).as_json()`), however the plan moves: visits, meetings,
reviews, incidents, escalations by the passage of time, unreadable messages, day after day."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from tests.helpers.engine_plans import at, new_plan
from workflows.engine import PlanEngine
from workflows.status import PlanStatus, newest_history


def same(plan: PlanEngine, now: datetime) -> None:
    assert plan.status_json(now) == plan.status(now).as_json()
    # What a client reads back (starters/cases: a typed PlanStatus) gives the query's JSON again,
    # byte for byte: the API and `cpplan status --json` answer with it.
    sent = newest_history(plan.status_json(now))
    assert json.dumps(PlanStatus.model_validate(sent).as_json()) == json.dumps(sent)


def test_a_year_of_a_plan_reads_the_same_both_ways_at_every_step():
    plan = new_plan("darlington", "2026-11-23")
    day = at("2026-11-23", 17)
    same(plan, day)
    for step in range(0, 365, 3):
        day = at("2026-11-23", 17) + timedelta(days=step)
        plan.fire(day)  # reminders and escalations as time passes
        same(plan, day)
        if not plan.cal.is_working_day(day.date()):
            continue
        if step % 9 == 0:
            plan.record_visit({"date": day.date().isoformat(), "seen": step % 2 == 0}, day)
        elif step % 9 == 3:
            plan.report_incident({"kind": "new-incident", "date": day.date().isoformat()}, day)
        elif step % 9 == 6:
            plan.report_death({"date": "2099-01-01"}, day)  # kept as unreadable
        same(plan, day)
        review = plan._find_open("review-conference")
        if review and review.due <= day.date() + timedelta(days=3):
            plan.record_review_conference({"date": day.date().isoformat(), "outcome": "continue"}, day)
            same(plan, day)
    assert plan.state.reviews_held >= 1 and len(plan.state.history) > 50
    # The same plan a day later, and asked twice (the second from what the first kept).
    later = day + timedelta(days=1)
    same(plan, later)
    same(plan, later)


def test_what_the_rules_release_shows_is_followed_when_it_changes():
    # Hold-by dates are shown only under `procedures-2`: the kept views must not outlive it.
    # A conference on Friday 27 November: the review's three months end on Saturday 27 February.
    plan = new_plan("london", "2026-11-27")
    now = at("2026-12-24", 10)
    same(plan, now)
    assert any("hold_by" in o for o in plan.status_json(now)["obligations"])
    plan.patches = replace(plan.patches, procedures=False)
    same(plan, now)
    assert not any("hold_by" in o for o in plan.status_json(now)["obligations"])


def test_a_status_from_a_run_before_the_managers_list_still_reads():
    """A plan started by an older release answers without `managers` and `entitled`; the
    client reads it, and says so with None rather than an empty list (nobody entitled)."""
    plan = new_plan("darlington", "2026-11-23")
    old = {k: v for k, v in plan.status_json(at("2026-11-24", 9)).items() if k not in ("managers", "entitled")}
    status = PlanStatus.model_validate(old)
    assert status.managers is None and status.entitled is None
    assert status.history[0].event == old["history"][0]["event"]
    assert status.as_json()["plan_id"] == old["plan_id"]
