"""An ending recorded in error put right (`reopen_plan`): by the plan's service manager only,
within 30 days of the ending being recorded, the plan's clocks as they were."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.engine_plans import at, new_plan, sent
from workflows import models as m
from workflows.plan_rules.state import Patches


def open_clocks(plan) -> list[tuple[str, str]]:
    return sorted((o.id, o.due.isoformat()) for o in plan.open_obligations())


def test_a_death_reported_in_error_is_put_right_with_the_child_still_missing():
    plan = new_plan("london", "2026-11-23")
    plan.report_missing({"date": "2026-12-01"}, at("2026-12-01", 10))
    before = open_clocks(plan)
    plan.report_death({"date": "2026-12-02", "by": "sw-1"}, at("2026-12-02", 10))
    assert plan.state.state == "ended" and not plan.open_obligations() and plan.state.missing_since is None
    sent(plan)
    for by in ("tm-1", "sw-1", "par-1", "sm-other"):
        with pytest.raises(m.NotEntitled, match="service manager"):
            plan.reopen_plan({"by": by}, at("2026-12-03", 10))
    result = plan.reopen_plan({"by": "sm-1", "reason_ref": "err-1"}, at("2026-12-03", 10))
    assert result["state"] == "active" and plan.state.end_reason is None
    assert open_clocks(plan) == before
    assert plan.state.missing_since == at("2026-12-01", 10)  # still missing, its clock as it was
    told = {(kind, to) for kind, to, _ in sent(plan)}
    assert {("alert", "sm-1"), ("alert", "london-safeguarding-partnership")} <= told
    assert {("letter", p) for p in ("sw-1", "tm-1", "hv-1", "par-1")} <= told
    events = [h.event for h in plan.state.history]
    assert "practice-review-to-be-considered" in events and events[-2:] == ["plan-reopened", "ending-recorded-in-error"]
    with pytest.raises(m.Refusal, match="has not ended"):
        plan.reopen_plan({"by": "sm-1"}, at("2026-12-03", 11))


def test_an_end_at_review_recorded_in_error_continues_to_the_next_review():
    plan = new_plan("isle-of-man", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    plan.record_review_conference({"date": "2027-08-13", "outcome": "end"}, at("2027-08-13", 17))
    assert [o.kind for o in plan.open_obligations()] == ["cin-meeting"]
    result = plan.reopen_plan({"by": "sm-1"}, at("2027-08-16", 10))
    kinds = {o.kind for o in plan.open_obligations()}
    assert "cin-meeting" not in kinds and "review-conference" in kinds and "visit" in kinds
    review = next(o for o in plan.open_obligations() if o.kind == "review-conference")
    assert review.due.isoformat() == "2028-02-13"  # six months on from the conference held
    assert "review-conference-3" in result["restored"]


def test_only_a_death_or_an_end_at_review_and_only_within_30_days():
    plan = new_plan("london", "2026-11-23")
    plan.report_death({"date": "2026-12-02"}, at("2026-12-02", 10))
    late = at("2026-12-02", 10) + timedelta(days=30, seconds=1)
    with pytest.raises(m.Refusal, match="within 30 days"):
        plan.reopen_plan({"by": "sm-1"}, late)
    plan.fire(late)
    assert plan.finished and plan.state.history[-1].event == "ending-final"
    with pytest.raises(m.Refusal, match="within 30 days"):
        plan.reopen_plan({"by": "sm-1"}, late)


def test_a_plan_ended_before_the_release_completes_as_it_did():
    plan = new_plan("london", "2026-11-23")
    plan.patches = Patches(entitled_senders=False)
    plan.report_death({"date": "2026-12-02"}, at("2026-12-02", 10))
    assert plan.finished and plan.next_wakeup() is None
    with pytest.raises(m.Refusal, match="within 30 days"):
        plan.reopen_plan({"by": "sm-1"}, at("2026-12-03", 10))
