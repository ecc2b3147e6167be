"""The procedures' remaining rules on the pure engine, each named after the seed sentence it
enforces (shared/seeds/, cited by file and section)."""

import re

import pytest

from starters import render
from tests.helpers.engine_plans import at, finished_once_final, new_plan, obligation, sent, start_doc
from workflows import models as m
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.engine import PlanEngine
from workflows.policy import ChairRule, get_profile

BUILT_IN = ("london", "isle-of-man", "darlington", "tees", "birmingham")
CHAIR = {"id": "ch-1", "role": "chair", "email": "ch-1@example.org"}


def open_ids(plan: PlanEngine) -> set[str]:
    return {o.id for o in plan.open_obligations()}


# 002 'Conference record': "The decisions of a Child Protection Conference, whether Initial
# (including Transfer), Pre-birth or Review ... are to be circulated to all those invited within
# two working days"; the record within 20 working days.


def test_a_review_that_ends_the_plan_still_owes_its_decisions_and_record_and_those_of_the_conference_before():
    plan = new_plan("darlington", "2026-11-23")
    plan.record_review_conference(
        {"date": "2027-02-19", "outcome": "end", "exceptional_reason": "perpetrator-custody", "by": "tm-1"},
        at("2027-02-19", 17),
    )
    assert plan.state.state == "ended"
    owed = {"conference-decisions-1", "conference-record-1", "conference-decisions-2", "conference-record-2"}
    assert open_ids(plan) == owed
    assert obligation(plan, "conference-decisions-2", at("2027-02-19", 17))["due"] == "2027-02-23"
    assert obligation(plan, "conference-record-2", at("2027-02-19", 17))["due"] == "2027-03-19"
    # Still chased after the end: the team manager is told the day after the decisions' limit.
    sent(plan)
    plan.fire(at("2027-02-24", 9))
    assert ("escalation", "tm-1", "conference-decisions-2") in sent(plan)
    for ident in sorted(owed):
        assert not plan.finished
        plan.record_completion({"obligation_id": ident, "date": "2027-02-24"}, at("2027-02-24", 12))
    assert finished_once_final(plan)


# 002 'Lead Social Worker Role': "ensure the child(ren) is/are seen at least every 10 working days
# by the Lead Social Worker".


def test_in_darlington_a_health_visitor_seeing_the_child_at_home_does_not_restart_the_visit_clock():
    plan = new_plan("darlington", "2026-11-23")
    result = plan.record_visit({"date": "2026-11-30", "seen": True, "by": "hv-1"}, at("2026-11-30", 17))
    assert result["statutory"] is False
    assert obligation(plan, "visit-1", at("2026-11-30", 17))["status"] == "pending"
    assert plan.status(at("2026-11-30", 17)).as_json()["history"][-1]["event"] == "visit"
    assert any(h["event"] == "visit-not-statutory" for h in plan.status(at("2026-11-30", 17)).as_json()["history"])
    assert plan.record_visit({"date": "2026-12-01", "seen": True, "by": "sw-1"}, at("2026-12-01", 17))["statutory"]
    assert obligation(plan, "visit-1", at("2026-12-01", 17))["met_on"] == "2026-12-01"


def test_in_darlington_the_worker_covering_for_the_lead_social_worker_makes_the_statutory_visit():
    plan = new_plan("darlington", "2026-11-23")
    plan.change_lead_social_worker(
        {
            "person": {"id": "sw-2", "role": "lead-social-worker", "email": "sw-2@example.org"},
            "cover_until": "2026-12-18",
            "by": "tm-1",
        },
        at("2026-11-24", 9),
    )
    assert plan.record_visit({"date": "2026-11-30", "seen": True, "by": "sw-2"}, at("2026-11-30", 17))["statutory"]


def test_a_visit_by_someone_who_is_not_one_of_the_plans_people_is_refused():
    plan = new_plan("london", "2026-11-23")
    with pytest.raises(m.Refusal, match="'xx-9' is not one of this plan's people"):
        plan.record_visit({"date": "2026-11-30", "seen": True, "by": "xx-9"}, at("2026-11-30", 17))
    # London's seed does not limit the statutory visit to the lead social worker.
    assert plan.record_visit({"date": "2026-11-30", "seen": True, "by": "hv-1"}, at("2026-11-30", 17))["statutory"]


# 002 'Child Protection Review Conference': "A Child Protection Plan should not be removed at the
# first review conference except in exceptional circumstances"; 004 'Role of the Social Worker':
# a recommendation "that a child/ren should be de-listed from a plan at 3 months" is discussed
# with the chair beforehand.


def test_birmingham_ends_a_plan_at_the_first_review_as_an_ordinary_decision_agreed_with_the_chair():
    plan = new_plan("birmingham", "2026-11-23", chair=CHAIR)
    with pytest.raises(m.Refusal, match=r"manager \(or the chair\).*004"):
        plan.record_review_conference({"date": "2027-02-19", "outcome": "end"}, at("2027-02-19", 17))
    plan.record_review_conference(
        {"date": "2027-02-19", "outcome": "end", "by": "ch-1", "step_down_not_needed": "looked-after"},
        at("2027-02-19", 17),
    )
    assert plan.state.state == "ended"


def test_darlington_ends_a_plan_at_the_first_review_only_in_exceptional_circumstances():
    plan = new_plan("darlington", "2026-11-23", chair=CHAIR)
    with pytest.raises(m.Refusal, match="exceptional circumstances.*002 'Child Protection Review Conference'"):
        plan.record_review_conference({"date": "2027-02-19", "outcome": "end", "by": "tm-1"}, at("2027-02-19", 17))
    with pytest.raises(m.Refusal, match="not one of this plan's managers"):
        plan.record_review_conference(
            {"date": "2027-02-19", "outcome": "end", "exceptional_reason": "perpetrator-deceased", "by": "ch-1"},
            at("2027-02-19", 17),
        )


@pytest.mark.parametrize("policy", BUILT_IN)
def test_no_refusal_quotes_another_profiles_citation(policy):
    own = get_profile(policy).seed[:3]
    others = [p for p in ("000", "001", "002", "003", "004") if p != own]
    plan = new_plan(policy, "2026-11-23", first_review_date="2027-02-10")
    messages = []
    for name, payload in [
        ("record_review_conference", {"date": "2027-02-09", "outcome": "end"}),
        ("record_review_conference", {"date": "2027-02-09", "outcome": "transfer-out"}),
        ("schedule_meeting", {"kind": "review_conference", "date": "2027-02-05"}),
        ("record_review_conference", {"date": "2027-02-09", "outcome": "inquorate", "next_review_date": "2027-06-01"}),
    ]:
        with pytest.raises(m.Refusal) as err:
            getattr(plan, name)(payload, at("2027-02-09", 17))
        messages.append(str(err.value))
    for text in messages:
        assert not [p for p in others if re.search(rf"\b{p} ", text)], text


# 002 'Transfer Child Protection Conference': "the responsibility for the Child Protection Plan
# rests with the original authority until the conference has been held"; the lead social worker
# submits "a report at least five working days before the conference".


def test_a_plan_transferred_out_keeps_its_clocks_until_the_receiving_authoritys_transfer_conference():
    plan = new_plan("darlington", "2026-11-23")
    with pytest.raises(m.Refusal, match="receiving_authority: a transfer out names the receiving authority"):
        plan.record_review_conference({"date": "2027-02-19", "outcome": "transfer-out"}, at("2027-02-19", 17))
    result = plan.record_review_conference(
        {"date": "2027-02-19", "outcome": "transfer-out", "receiving_authority": "la-815"}, at("2027-02-19", 17)
    )
    # Date not yet known: the receiving authority's 15 working days, the report 5 before that.
    assert result == {"outcome": "transfer-out", "transfer_conference_due": "2027-03-12", "report_due": "2027-03-05"}
    assert plan.state.state == "active"
    assert plan.record_visit({"date": "2027-02-22", "seen": True, "by": "sw-1"}, at("2027-02-22", 17))["statutory"]
    moved = plan.schedule_meeting({"kind": "transfer_conference", "date": "2027-03-17"}, at("2027-02-23", 10))
    assert moved["report_due"] == "2027-03-10"
    plan.record_completion({"obligation_id": "transfer-report-1", "date": "2027-03-09"}, at("2027-03-09", 12))
    done = plan.record_completion(
        {"obligation_id": "transfer-conference-1", "date": "2027-03-17"}, at("2027-03-17", 17)
    )
    assert done["state"] == "ended"
    status = plan.status(at("2027-03-17", 17)).as_json()
    assert status["end_reason"] == "transferred out (receiving authority la-815)"
    # The review that agreed the transfer still owes its record (decisions were due 23 Feb).
    assert "conference-record-2" in open_ids(plan)


def test_a_transfer_conference_date_known_at_the_review_sets_the_report_due_date():
    plan = new_plan("darlington", "2026-11-23")
    result = plan.record_review_conference(
        {
            "date": "2027-02-19",
            "outcome": "transfer-out",
            "receiving_authority": "la-815",
            "transfer_conference_date": "2027-03-01",
        },
        at("2027-02-19", 17),
    )
    assert result["report_due"] == "2027-02-22"


# 004 'Core Groups': "If in the exceptional circumstances where it has been assessed that a CIN
# plan is not necessary a clear rationale as to why this is the case needs to be recorded ... A
# follow up discussion in supervision between the responsible Team Manager and Head of Service".


def test_birmingham_ending_without_a_child_in_need_plan_needs_a_rationale_and_a_supervision_discussion():
    plan = new_plan("birmingham", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    ending = {"date": "2027-08-13", "outcome": "end", "step_down_not_needed": "assessed-not-necessary"}
    with pytest.raises(m.Refusal, match="rationale_ref: .*needs its rationale"):
        plan.record_review_conference(ending, at("2027-08-13", 17))
    sent(plan)
    result = plan.record_review_conference({**ending, "rationale_ref": "rat-31"}, at("2027-08-13", 17))
    assert result == {"outcome": "end", "supervision_due": "2027-08-27"}
    assert "cin-meeting-1" not in open_ids(plan)
    assert ("alert", "sm-1", "step-down-supervision-1") in sent(plan)  # the head of service is told
    assert not plan.finished
    plan.record_completion({"obligation_id": "step-down-supervision-1", "date": "2027-08-20"}, at("2027-08-20", 12))
    assert finished_once_final(plan)


def test_a_profile_without_the_assessment_refuses_it():
    plan = new_plan("isle-of-man", "2026-11-23")
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    with pytest.raises(m.Refusal, match="no child-in-need step-down to assess"):
        plan.record_review_conference(
            {"date": "2027-08-13", "outcome": "end", "step_down_not_needed": "assessed-not-necessary"},
            at("2027-08-13", 17),
        )


# 004 'Core Groups': "The core group, *before* the Review Conference, should consider and discuss
# the recommendation being presented to conference".


def test_birmingham_has_a_core_group_before_each_review_conference_and_it_moves_with_the_review():
    plan = new_plan("birmingham", "2026-11-23")
    now = at("2026-11-24", 9)
    assert obligation(plan, "pre-review-core-group-1", now)["due"] == "2027-02-22"  # review due 23 Feb
    plan.record_core_group({"date": "2026-12-03"}, at("2026-12-03", 17))
    assert obligation(plan, "pre-review-core-group-1", now)["status"] == "pending"  # too early to discuss it
    plan.report_incident({"kind": "new-incident", "date": "2026-12-10"}, at("2026-12-10", 11))
    plan.authorise_early_review({"by": "tm-1", "review_date": "2027-01-15"}, at("2026-12-10", 12))
    assert obligation(plan, "pre-review-core-group-1", now)["due"] == "2027-01-14"
    plan.record_core_group({"date": "2027-01-11"}, at("2027-01-11", 17))
    assert obligation(plan, "pre-review-core-group-1", now)["met_on"] == "2027-01-11"
    plan.record_review_conference({"date": "2027-01-15", "outcome": "continue"}, at("2027-01-15", 17))
    assert obligation(plan, "pre-review-core-group-2", now)["due"] == "2027-07-14"


def test_a_core_group_already_held_counts_when_the_review_is_brought_within_its_reach():
    """004 'Core Groups': the core group before the review discusses the recommendation; one
    held in the weeks before a review that is then brought forward has done so."""
    plan = new_plan("birmingham", "2026-11-23")
    plan.record_core_group({"date": "2026-12-03"}, at("2026-12-03", 17))
    plan.report_incident({"kind": "new-incident", "date": "2026-12-10"}, at("2026-12-10", 11))
    plan.authorise_early_review({"by": "tm-1", "review_date": "2026-12-21"}, at("2026-12-10", 12))
    assert obligation(plan, "pre-review-core-group-1", at("2026-12-10", 12))["met_on"] == "2026-12-03"


def test_a_review_held_early_closes_the_reports_that_were_to_prepare_it():
    """002 'Conference reports': reports to the parents and the chair come before the conference;
    once it is held early, the ones not yet due are moot, and nobody is chased for them."""
    plan = new_plan("darlington", "2026-11-23")
    assert obligation(plan, "conference-report-chair-1", at("2026-11-24"))["status"] == "pending"
    plan.record_review_conference({"date": "2026-12-09", "outcome": "continue"}, at("2026-12-09", 17))
    ids = [o.id for o in plan.state.obligations]
    assert "conference-report-chair-1" not in ids and "conference-report-parents-1" not in ids
    assert [h.detail["closed"] for h in plan.state.history if h.event == "preparation-closed"] == [
        ["conference-report-parents-1", "conference-report-chair-1"]
    ]
    # The next review's own preparation is open.
    assert obligation(plan, "conference-report-chair-2", at("2026-12-09", 17))["status"] == "pending"


def test_profiles_without_it_have_no_core_group_before_the_review():
    assert not new_plan("london", "2026-11-23").open_obligations("pre-review-core-group")


# 001 6.4.3: "In situations where it is not possible to implement the Child Protection Plan for
# whatever reason this must be brought to the attention of the Review Conference Chair as a
# matter of urgency and a Review Conference convened."


def test_a_plan_that_cannot_be_implemented_goes_to_the_chair_and_the_review_cannot_be_declined():
    plan = new_plan("isle-of-man", "2026-11-23", chair=CHAIR)
    plan.report_incident({"kind": "implementation-difficulty", "date": "2026-12-10"}, at("2026-12-10", 11))
    told = sent(plan)
    assert ("alert", "ch-1", "early-review-decision-1") in told and ("alert", "tm-1", "early-review-decision-1") in told
    with pytest.raises(m.Refusal, match="convened because the plan cannot be implemented is not declined.*001 6.4.3"):
        plan.decline_early_review({"by": "tm-1"}, at("2026-12-10", 12))
    plan.authorise_early_review({"by": "tm-1", "review_date": "2027-01-08"}, at("2026-12-10", 12))
    assert obligation(plan, "review-conference-1", at("2026-12-10", 12))["due"] == "2027-01-08"


def test_without_a_chair_on_the_plan_the_head_of_service_is_told_to_pass_it_on():
    plan = new_plan("tees", "2026-11-23")
    plan.report_incident({"kind": "implementation-difficulty", "date": "2026-12-10"}, at("2026-12-10", 11))
    alert = next(n for n in plan.state.outbox if n.to_id == "sm-1")
    assert "No chair is recorded" in alert.body


def test_a_profile_can_require_the_chair_when_the_plan_starts():
    profile = get_profile("isle-of-man")
    strict = profile.model_copy(update={"chair": ChairRule(required=True, source="001 6.4.3")})
    cal = WorkingCalendar(non_working_days(profile.region, 2025, 2030, profile.closure_days))
    with pytest.raises(m.Refusal, match="chair: this profile needs the review conference chair"):
        PlanEngine.begin(m.parse(m.PlanStart, start_doc("isle-of-man")), strict, cal, at("2026-11-23", 15))
    started = PlanEngine.begin(
        m.parse(m.PlanStart, start_doc("isle-of-man", chair=CHAIR)), strict, cal, at("2026-11-23", 15)
    )
    assert started.state.start.chair is not None


# 002 'Unborn Child Protection Conference': the core group meets before the birth.


def test_a_pre_birth_plans_first_core_group_falls_on_a_working_day_before_the_birth():
    # Expected on Monday 15 March 2027: the last working day before is Friday 12 March.
    plan = new_plan(
        "darlington",
        "2027-03-04",
        now=at("2027-03-04", 15),
        conference_kind="pre-birth",
        expected_birth_date="2027-03-15",
    )
    assert obligation(plan, "first-core-group", at("2027-03-04", 15))["due"] == "2027-03-12"


# procedures.md "Due dates on non-working days": the limit stays the statutory one; people hold
# it by the last working day on or before it, and reminders count back from that.


def test_a_limit_on_a_sunday_is_held_by_the_friday_before_and_escalated_the_monday_after():
    plan = new_plan("london", "2026-11-30")  # review within 3 months: Sunday 28 February 2027
    review = obligation(plan, "review-conference-1", at("2026-12-01", 9))
    assert (review["due"], review["hold_by"]) == ("2027-02-28", "2027-02-26")
    assert "hold by 2027-02-26" in review["description"]
    plan.fire(at("2027-02-23", 23))
    sent(plan)
    plan.fire(at("2027-02-24", 9))  # two working days before the Friday
    assert ("reminder", "sw-1", "review-conference-1") in sent(plan)
    plan.fire(at("2027-02-28", 23))
    assert not [s for s in sent(plan) if s[2] == "review-conference-1"]
    plan.fire(at("2027-03-01", 9))  # the first working day after the statutory limit
    assert ("escalation", "tm-1", "review-conference-1") in sent(plan)


def test_a_limit_on_a_working_day_shows_no_hold_by():
    plan = new_plan("london", "2026-11-23")
    assert "hold_by" not in obligation(plan, "visit-1", at("2026-11-24", 9))


@pytest.mark.parametrize("policy", BUILT_IN)
def test_cpplan_policy_prints_every_rule_in_words(policy):
    text = render.policy(get_profile(policy))
    for repr_word in ("True", "False", "None", " 1 months", " 1 weeks", " 1 working days", " 1 days"):
        assert repr_word not in text, repr_word
