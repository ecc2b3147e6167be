"""A plan's whole life on the pure engine: incidents, managers' decisions, missing, death, ending."""

from datetime import timedelta

import pytest

from tests.helpers.engine_plans import at, finished_once_final, new_plan, obligation, sent
from workflows import models as m


def test_incident_asks_the_manager_and_an_authorised_early_review_brings_the_conference_forward():
    plan = new_plan("london", "2026-11-23")
    plan.report_incident({"kind": "new-incident", "date": "2026-12-10", "summary_ref": "s47-77"}, at("2026-12-10", 11))
    out = sent(plan)
    assert ("alert", "tm-1", "early-review-decision-1") in out
    assert obligation(plan, "early-review-decision-1", at("2026-12-10", 11))["due"] == "2026-12-11"
    with pytest.raises(m.Refusal, match="not one of this plan's managers"):
        plan.authorise_early_review({"by": "sw-1", "review_date": "2027-01-08"}, at("2026-12-10", 12))
    with pytest.raises(m.Refusal, match="past the statutory limit 2027-02-23"):
        plan.authorise_early_review({"by": "tm-1", "review_date": "2027-03-01"}, at("2026-12-10", 12))
    plan.authorise_early_review({"by": "tm-1", "review_date": "2027-01-08"}, at("2026-12-10", 12))
    assert obligation(plan, "review-conference-1", at("2026-12-10", 12))["due"] == "2027-01-08"
    assert obligation(plan, "early-review-decision-1", at("2026-12-10", 12))["status"] == "met"
    letters = {to for kind, to, _ in sent(plan) if kind == "letter"}
    assert letters == {"sw-1", "tm-1", "hv-1", "par-1"}
    # London's bedroom check is "once between conferences": it follows the conference forward.
    assert obligation(plan, "bedroom-seen-1", at("2026-12-10", 12))["due"] == "2027-01-08"


def test_a_declined_early_review_is_recorded_with_who_decided():
    plan = new_plan("london", "2026-11-23")
    plan.report_incident({"kind": "change-of-circumstances", "date": "2026-12-10"}, at("2026-12-10", 11))
    plan.decline_early_review({"by": "sm-1", "reason_ref": "sup-12"}, at("2026-12-11", 11))
    event = plan.status(at("2026-12-11", 11)).as_json()["history"][-1]
    assert event["event"] == "early-review-declined" and event["by"] == "sm-1"
    with pytest.raises(m.Refusal, match="no early review has been asked for"):
        plan.decline_early_review({"by": "tm-1"}, at("2026-12-11", 12))


def test_two_consecutive_no_access_visits_tell_the_manager_and_core_group_and_need_police_action():
    plan = new_plan("london", "2026-11-23")
    plan.record_visit({"date": "2026-11-30", "seen": False}, at("2026-11-30", 17))
    assert not [o for o in sent(plan) if o[0] == "alert"]
    plan.record_visit({"date": "2026-12-01", "seen": False}, at("2026-12-01", 17))
    told = {to for kind, to, _ in sent(plan) if kind == "alert"}
    assert told == {"tm-1", "hv-1"}, "action agreed with the police is for professionals, not the parents"
    police = obligation(plan, "police-action-1", at("2026-12-01", 17))
    assert police["due"] == "2026-12-02"
    plan.record_completion({"obligation_id": "police-action-1", "date": "2026-12-02"}, at("2026-12-02", 10))
    assert obligation(plan, "police-action-1", at("2026-12-02", 10))["status"] == "met"


def test_a_missing_child_not_traced_within_a_day_goes_to_the_senior_manager():
    plan = new_plan("darlington", "2026-11-23", senior_manager={"id": "cpm-1", "role": "senior-manager"})
    plan.report_missing({"date": "2026-12-01"}, at("2026-12-01", 14))
    assert ("alert", "sw-1", "child-found-1") in sent(plan)
    plan.fire(at("2026-12-02", 13, 59))
    assert not [o for o in sent(plan) if o[2] == "child-found-1"]
    plan.fire(at("2026-12-02", 14))
    assert ("alert", "cpm-1", "child-found-1") in sent(plan)
    plan.report_found({"date": "2026-12-03"}, at("2026-12-03", 9))
    assert {to for _, to, _ in sent(plan)} == {"sw-1", "cpm-1"}
    assert plan.status(at("2026-12-03", 9)).as_json()["missing"] is False


def test_a_child_found_quickly_never_reaches_the_senior_manager():
    plan = new_plan("darlington", "2026-11-23")
    plan.report_missing({"date": "2026-12-01"}, at("2026-12-01", 14))
    plan.report_found({"date": "2026-12-01"}, at("2026-12-01", 18))
    sent(plan)
    plan.fire(at("2026-12-03", 9))
    assert not any(e.kind == "missing-not-traced" for e in plan.state.escalations)


def test_death_tells_the_senior_manager_and_partnership_and_ends_the_plan():
    plan = new_plan("darlington", "2026-11-23")
    plan.report_death({"date": "2026-12-05"}, at("2026-12-06", 9))
    told = {to for kind, to, _ in sent(plan)}
    assert told == {"sm-1", "darlington-safeguarding-partnership"}
    status = plan.status(at("2026-12-06", 9)).as_json()
    assert status["state"] == "ended" and status["end_reason"] == "child died"
    assert any(h["event"] == "practice-review-to-be-considered" for h in status["history"])
    # 002 'Conference record': the initial conference's record is still owed after the plan ends.
    assert {o.id for o in plan.open_obligations()} == {"conference-decisions-1", "conference-record-1"}
    assert not plan.finished
    for ident in ("conference-decisions-1", "conference-record-1"):
        plan.record_completion({"obligation_id": ident, "date": "2026-12-06"}, at("2026-12-06", 9))
    assert finished_once_final(plan)
    with pytest.raises(m.Refusal, match="the plan ended"):
        plan.record_visit({"date": "2026-12-06", "seen": True}, at("2026-12-06", 10))


def test_ending_at_a_later_review_opens_the_child_in_need_step_down():
    plan = new_plan("isle-of-man", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    result = plan.record_review_conference({"date": "2027-08-13", "outcome": "end"}, at("2027-08-13", 17))
    # 001 5.2: an inter-agency meeting within 10 working days to agree the CIN plan.
    assert result["cin_meeting_due"] == "2027-08-27"
    status = plan.status(at("2027-08-13", 17)).as_json()
    assert status["state"] == "ended"
    assert [o["kind"] for o in status["obligations"] if o["status"] == "pending"] == ["cin-meeting"]
    assert not plan.finished
    plan.record_completion({"obligation_id": "cin-meeting-1", "date": "2027-08-20"}, at("2027-08-20", 12))
    assert finished_once_final(plan)


def test_ending_at_the_first_review_needs_an_exceptional_reason():
    plan = new_plan("darlington", "2026-11-23")
    with pytest.raises(m.Refusal, match="exceptional"):
        plan.record_review_conference({"date": "2027-02-19", "outcome": "end"}, at("2027-02-19", 17))
    with pytest.raises(m.Refusal, match="needs the manager who agreed it"):
        plan.record_review_conference(
            {"date": "2027-02-19", "outcome": "end", "exceptional_reason": "perpetrator-custody"}, at("2027-02-19", 17)
        )
    with pytest.raises(m.Refusal, match="not one of this plan's managers"):
        plan.record_review_conference(
            {"date": "2027-02-19", "outcome": "end", "exceptional_reason": "perpetrator-custody", "by": "sw-1"},
            at("2027-02-19", 17),
        )
    plan.record_review_conference(
        {"date": "2027-02-19", "outcome": "end", "exceptional_reason": "perpetrator-custody", "by": "tm-1"},
        at("2027-02-19", 17),
    )
    assert plan.state.state == "ended"


def test_birmingham_needs_no_step_down_when_the_child_became_looked_after():
    plan = new_plan("birmingham", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    plan.record_review_conference(
        {"date": "2027-08-13", "outcome": "end", "step_down_not_needed": "looked-after"}, at("2027-08-13", 17)
    )
    assert finished_once_final(plan)


def test_an_inquorate_review_sets_a_new_date_within_a_month():
    plan = new_plan("darlington", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "inquorate"}, at("2027-02-19", 17))
    review = obligation(plan, "review-conference-1", at("2027-02-19", 17))
    assert review["status"] == "pending" and review["due"] == "2027-03-19"
    assert ("alert", "tm-1", None) in sent(plan)


def test_birmingham_scaling_most_zero_scores_escalate_for_oversight():
    plan = new_plan("birmingham", "2026-11-23")
    plan.record_review_conference(
        {"date": "2027-02-19", "outcome": "continue", "scores": [0, 0, 0, 4]}, at("2027-02-19", 17)
    )
    assert {to for kind, to, _ in sent(plan) if kind == "alert"} == {"tm-1", "sm-1"}


def test_a_covering_social_worker_gets_the_reminders_until_cover_ends():
    plan = new_plan("london", "2026-11-23")
    plan.change_lead_social_worker(
        {"person": {"id": "sw-2", "email": "sw-2@example.org"}, "cover_until": "2026-12-04", "by": "tm-1"},
        at("2026-11-24", 10),
    )
    letters = {to for kind, to, _ in sent(plan) if kind == "letter"}
    assert letters == {"sw-2", "tm-1", "hv-1", "par-1"}
    plan.fire(at("2026-12-03", 9))
    assert ("reminder", "sw-2", "first-core-group") in sent(plan)
    assert plan.lead_social_worker(at("2026-12-07").date()).id == "sw-1"


def test_pre_birth_core_group_meets_before_the_birth_and_a_late_conference_is_flagged():
    plan = new_plan("darlington", "2026-11-23", conference_kind="pre-birth", expected_birth_date="2026-12-01")
    assert obligation(plan, "first-core-group", at("2026-11-23"))["due"] == "2026-11-30"
    assert ("alert", "tm-1", None) in sent(plan)


def test_an_unreadable_signal_is_kept_and_someone_is_told():
    plan = new_plan("london", "2026-11-23")
    plan.report_incident({"kind": "rumour", "date": "2026-12-01"}, at("2026-12-01", 10))
    entry = plan.status(at("2026-12-01", 10)).as_json()["history"][-2]
    assert entry["event"] == "unreadable-message" and entry["message"] == "report_incident"
    assert {to for kind, to, _ in sent(plan)} == {"sw-1", "tm-1"}


def test_a_manager_escalation_is_recorded_and_notified():
    plan = new_plan("london", "2026-11-23")
    plan.escalate({"by": "tm-1", "to": "hos-1", "reason_ref": "sup-3"}, at("2026-12-01", 10))
    assert ("alert", "hos-1", None) in sent(plan)
    assert [e.kind for e in plan.state.escalations if e.to == "hos-1"] == ["manager-escalation"]


def test_a_three_year_plan_keeps_its_clocks_running_from_each_review():
    plan = new_plan("darlington", "2026-11-23")
    day = at("2026-11-23", 17)
    reviews = 0
    for _ in range(0, 3 * 365, 14):
        day += timedelta(days=14)
        if not plan.cal.is_working_day(day.date()):
            continue
        plan.record_visit({"date": day.date().isoformat(), "seen": True}, day)
        review = plan._find_open("review-conference")
        if review and review.due <= day.date() + timedelta(days=14):
            plan.record_review_conference({"date": day.date().isoformat(), "outcome": "continue"}, day)
            reviews += 1
    assert reviews >= 6
    assert plan.state.reviews_held == reviews
