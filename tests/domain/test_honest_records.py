"""Honest records: what cannot be true is not recorded as if it were. Reports (signals) are
checked like updates and kept as unreadable when they fail, a start document must make sense,
and everyone the plan writes to is reachable or reported as not."""

from __future__ import annotations

import pytest

from tests.helpers.engine_plans import at, new_plan, obligation, sent, start_doc
from workflows import models as m
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.engine import PlanEngine
from workflows.policy import get_profile


def unreadable(plan: PlanEngine) -> list[dict]:
    return [h.detail for h in plan.state.history if h.event == "unreadable-message" and "message" in h.detail]


@pytest.mark.parametrize(
    ("date", "why"),
    [("2026-12-02", "2026-12-02 is in the future"), ("2026-11-20", "before the plan started (2026-11-23)")],
    ids=["a death dated tomorrow", "a death dated before the plan"],
)
def test_a_death_report_with_an_impossible_date_does_not_end_the_plan(date, why):
    plan = new_plan("london", "2026-11-23")
    plan.report_death({"date": date}, at("2026-12-01", 10))
    assert plan.state.state == "active"
    assert [(u["message"], why in u["reason"]) for u in unreadable(plan)] == [("report_death", True)]
    assert {to for kind, to, _ in sent(plan) if kind == "alert"} == {"sw-1", "tm-1"}


def test_a_child_missing_from_a_date_in_the_future_is_not_recorded_missing():
    plan = new_plan("london", "2026-11-23")
    plan.report_missing({"date": "2099-01-01"}, at("2026-12-01", 10))
    assert plan.state.missing_since is None
    assert unreadable(plan)[0]["message"] == "report_missing"


def test_an_escalation_from_someone_who_is_not_a_manager_of_the_plan_is_not_acted_on():
    plan = new_plan("london", "2026-11-23")
    plan.escalate({"by": "par-1", "to": "hos-1"}, at("2026-12-01", 10))
    assert not [n for n in plan.state.outbox if n.to_id == "hos-1"]
    assert "not one of this plan's managers" in unreadable(plan)[0]["reason"]


def test_an_escalation_to_someone_with_no_address_is_reported_to_the_team_manager():
    plan = new_plan("london", "2026-11-23")
    plan.escalate({"by": "tm-1", "to": "hos-1"}, at("2026-12-01", 10))
    alerts = [n for n in plan.state.outbox if n.to_id == "tm-1"]
    assert any("hos-1" in n.body and "no e-mail address" in n.body for n in alerts)


def test_a_signature_cannot_predate_the_notes_going_out():
    plan = new_plan("london", "2026-11-23")
    plan.record_core_group({"date": "2026-11-30"}, at("2026-11-30", 17))
    plan.record_notes_circulated({"date": "2026-12-03"}, at("2026-12-03", 17))
    with pytest.raises(m.Refusal, match=r"date: 2026-12-02 is before the notes were circulated \(2026-12-03\)"):
        plan.record_signature({"member_id": "hv-1", "date": "2026-12-02"}, at("2026-12-04", 10))
    plan.record_signature({"member_id": "hv-1", "date": "2026-12-04"}, at("2026-12-04", 10))
    assert obligation(plan, "signature-first-core-group-hv-1", at("2026-12-04"))["status"] == "met"


def test_a_new_lead_social_worker_must_be_reachable():
    plan = new_plan("london", "2026-11-23")
    with pytest.raises(m.Refusal, match="person.email: required"):
        plan.change_lead_social_worker({"person": {"id": "sw-2"}, "by": "tm-1"}, at("2026-11-24", 10))


@pytest.mark.parametrize(
    ("by", "reason"),
    [
        (None, "by: required: a change of lead social worker is agreed by one of the plan's managers"),
        ("sw-1", "by: 'sw-1' is not one of this plan's managers"),
    ],
    ids=["agreed by nobody", "agreed by the worker themself"],
)
def test_a_change_of_lead_social_worker_is_a_managers_decision(by, reason):
    """Every reminder follows the lead social worker: only a manager may redirect them."""
    plan = new_plan("london", "2026-11-23")
    payload = {"person": {"id": "sw-9", "email": "sw-9@example.org"}, **({"by": by} if by else {})}
    with pytest.raises(m.Refusal) as refused:
        plan.change_lead_social_worker(payload, at("2026-11-24", 10))
    assert reason in str(refused.value)


def _begin(doc: dict) -> PlanEngine:
    profile = get_profile(doc["policy"])
    cal = WorkingCalendar(non_working_days(profile.region, 2025, 2030, profile.closure_days))
    return PlanEngine.begin(m.parse(m.PlanStart, doc), profile, cal, at("2026-11-30", 10))


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"icpc": "1900-11-23"}, "icpc_date", "more than 5 years ago"),
        ({"service_manager": {"id": "sm-1", "role": "parent"}}, "service_manager.role", "member of staff"),
        ({"team_manager": {"id": "tm-1", "role": "team-manager"}}, "team_manager.email", "required"),
        ({"lead_social_worker": {"id": "sw-1", "role": "lead-social-worker"}}, "lead_social_worker.email", "required"),
    ],
    ids=["an ICPC in 1900", "a service manager who is a parent", "a team manager with no address", "nor a worker"],
)
def test_a_start_that_cannot_be_true_is_refused_naming_the_field(overrides, field, reason):
    icpc = overrides.pop("icpc", "2026-11-23")
    with pytest.raises(m.Refusal) as refused:
        _begin(start_doc("london", icpc, **overrides))
    assert any(f == field and reason in r for f, r in refused.value.problems), refused.value.problems


@pytest.mark.parametrize(
    ("field", "value"),
    [("icpc_date", 1795392000), ("visit_interval_working_days", True), ("visit_interval_working_days", "20")],
)
def test_a_start_takes_json_types_as_the_contract_gives_them(field, value):
    with pytest.raises(m.Refusal, match=field):
        m.parse(m.PlanStart, {**start_doc(), field: value})


def test_people_the_plan_cannot_write_to_are_named_to_the_team_manager_at_the_start():
    plan = _begin(
        start_doc(core_group=[{"id": "hv-1", "email": "hv-1@example.org"}, {"id": "par-1", "role": "parent"}])
    )
    alerts = [n for n in plan.state.outbox if n.kind == "alert"]
    assert [n.to_id for n in alerts] == ["tm-1"]
    assert "par-1 (parent)" in alerts[0].body and "hv-1" not in alerts[0].body


def test_a_client_sending_bad_reports_in_a_loop_does_not_bury_the_managers_in_alerts():
    plan = new_plan("london", "2026-11-23")
    for _ in range(8):
        plan.report_death({"date": "2099-01-01"}, at("2026-12-01", 10))
    assert len(unreadable(plan)) == 8, "each one is kept on the plan"
    to_manager = [n for n in plan.state.outbox if n.to_id == "tm-1"]
    assert len(to_manager) == 5
    assert "More unreadable messages today are recorded" in to_manager[-1].body
    plan.report_death({"date": "2099-01-01"}, at("2026-12-02", 10))  # a new day warns again
    assert len([n for n in plan.state.outbox if n.to_id == "tm-1"]) == 6


def test_a_client_looping_on_bad_reports_cannot_grow_the_plan_without_end():
    """Each run carries the plan's history to the next: a day's unreadable messages are kept one
    by one up to UNREADABLE_KEPT_A_DAY, then one entry says the rest are counted."""
    from workflows.case import UNREADABLE_KEPT_A_DAY

    plan = new_plan("london", "2026-11-23")
    for _ in range(UNREADABLE_KEPT_A_DAY + 300):
        plan.report_death({"date": "2099-01-01"}, at("2026-12-01", 10))
    events = [h.event for h in plan.state.history]
    assert len(unreadable(plan)) == UNREADABLE_KEPT_A_DAY
    assert events.count("unreadable-messages-counted") == 1
    assert plan.state.counters["unreadable-2026-12-01"] == UNREADABLE_KEPT_A_DAY + 300
    assert len([n for n in plan.state.outbox if n.to_id == "tm-1"]) == 5  # warnings as before

    plan.report_death({"date": "2099-01-01"}, at("2026-12-02", 10))  # a new day keeps them again
    assert len(unreadable(plan)) == UNREADABLE_KEPT_A_DAY + 1


def test_a_plan_recorded_before_the_bound_keeps_every_unreadable_message_as_it_ran():
    from dataclasses import replace

    from workflows.case import UNREADABLE_KEPT_A_DAY

    plan = new_plan("london", "2026-11-23")
    plan.patches = replace(plan.patches, bounded_unreadable=False)
    for _ in range(UNREADABLE_KEPT_A_DAY + 5):
        plan.report_death({"date": "2099-01-01"}, at("2026-12-01", 10))
    assert len(unreadable(plan)) == UNREADABLE_KEPT_A_DAY + 5
