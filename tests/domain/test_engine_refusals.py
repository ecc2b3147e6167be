"""Bad input is refused with the field and the reason, and changes nothing."""

import copy

import pytest

from tests.helpers.engine_plans import at, new_plan, start_doc
from workflows import models as m
from workflows.engine import PlanEngine
from workflows.policy import get_profile


def refused(plan: PlanEngine, message: str, payload, now, field: str, reason: str) -> None:
    before = copy.deepcopy(plan.state.model_dump())
    with pytest.raises(m.Refusal) as err:
        getattr(plan, message)(payload, now)
    assert any(f == field for f, _ in err.value.problems), err.value.problems
    assert reason in str(err.value)
    assert plan.state.model_dump() == before, "a refusal must change nothing"


NOW = at("2026-12-01", 12)


@pytest.mark.parametrize(
    ("message", "payload", "field", "reason"),
    [
        ("record_visit", {"date": "2026-12-02", "seen": True}, "date", "in the future"),
        ("record_visit", {"date": "2026-11-20", "seen": True}, "date", "before the plan started"),
        ("record_visit", {"date": "2026-11-30", "seen": "perhaps"}, "seen", "valid boolean"),
        ("record_visit", {"date": "2026-11-30"}, "seen", "Field required"),
        ("record_visit", {"date": "2026-11-30", "seen": False, "seen_alone": True}, "seen", "not seen"),
        ("record_visit", {"date": "2026-11-31", "seen": True}, "date", "valid date"),
        ("record_visit", {"date": "2026-11-30", "seen": True, "location": "car"}, "location", "home"),
        ("record_visit", {"date": "2026-11-30", "seen": True, "mood": "ok"}, "mood", "Extra inputs"),
        (
            "record_core_group",
            {"date": "2026-11-30", "next_date": "2027-02-01"},
            "next_date",
            "past the limit 2027-01-11",
        ),
        ("record_core_group", {"date": "2026-11-30", "next_date": "2026-11-29"}, "next_date", "not after the meeting"),
        ("record_notes_circulated", {"date": "2026-11-30"}, "(plan)", "no core group notes are outstanding"),
        (
            "record_signature",
            {"member_id": "gp-9", "date": "2026-11-30"},
            "member_id",
            "not a member of this plan's core group",
        ),
        (
            "record_signature",
            {"member_id": "hv-1", "date": "2026-11-30"},
            "member_id",
            "no signed agreement is outstanding",
        ),
        ("schedule_meeting", {"kind": "review_conference", "date": "2027-03-01"}, "date", "past the limit 2027-02-23"),
        ("schedule_meeting", {"kind": "core_group", "date": "2026-11-30"}, "date", "in the past"),
        ("schedule_meeting", {"kind": "strategy", "date": "2026-12-05"}, "kind", "core_group"),
        ("set_visit_frequency", {"interval_working_days": 20, "by": "sw-1"}, "by", "not one of this plan's managers"),
        (
            "set_visit_frequency",
            {"interval_working_days": 0, "by": "tm-1"},
            "interval_working_days",
            "greater than or equal to 1",
        ),
        (
            "record_review_conference",
            {"date": "2026-11-30", "outcome": "end"},
            "by",
            "first review conference needs the manager (or the chair)",
        ),
        (
            "record_review_conference",
            {"date": "2026-11-30", "outcome": "continue", "next_review_date": "2027-06-30"},
            "next_review_date",
            "no later than 2027-05-30",
        ),
        ("record_review_conference", {"date": "2026-11-30", "outcome": "adjourned"}, "outcome", "continue"),
        ("record_completion", {"obligation_id": "visit-1", "date": "2026-11-30"}, "obligation_id", "its own message"),
        ("record_completion", {"obligation_id": "nope", "date": "2026-11-30"}, "obligation_id", "no obligation"),
        ("change_lead_social_worker", {"person": {"id": "sw 2"}}, "person.id", "opaque reference"),
        ("record_visit", "2026-11-30", "(payload)", "expected a JSON object"),
    ],
)
def test_each_bad_update_is_refused_and_changes_nothing(message, payload, field, reason):
    plan = new_plan("london", "2026-11-23")
    refused(plan, message, payload, NOW, field, reason)


def test_isle_of_man_first_core_group_is_not_held_on_the_conference_day():
    plan = new_plan("isle-of-man", "2026-11-23")
    refused(plan, "record_core_group", {"date": "2026-11-23"}, NOW, "date", "not held on the conference day")


def test_a_set_review_conference_is_moved_only_by_a_manager():
    plan = new_plan("london", "2026-11-23", first_review_date="2027-02-15")
    refused(
        plan, "schedule_meeting", {"kind": "review_conference", "date": "2027-02-10"}, NOW, "by", "agreeing manager"
    )
    refused(
        plan,
        "schedule_meeting",
        {"kind": "review_conference", "date": "2027-02-10", "by": "hv-1"},
        NOW,
        "by",
        "not one of this plan's managers",
    )
    plan.schedule_meeting({"kind": "review_conference", "date": "2027-02-10", "by": "tm-1"}, NOW)
    letters = {n.to_id for n in plan.state.outbox if n.kind == "letter"}
    assert letters == {"sw-1", "tm-1", "hv-1", "par-1"}  # 000 9.2.6: everyone told in writing


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"icpc_date": "2026-12-25"}, "icpc_date", "in the future"),
        ({"first_core_group_date": "2026-12-08"}, "first_core_group_date", "after its deadline 2026-12-07"),
        ({"first_review_date": "2027-02-24"}, "first_review_date", "past the statutory limit 2027-02-23"),
    ],
)
def test_a_plan_start_past_its_limits_is_refused(overrides, field, reason):
    profile = get_profile("london")
    from workflows.calendar import WorkingCalendar, non_working_days

    cal = WorkingCalendar(non_working_days("ENG", 2025, 2028))
    start = m.parse(m.PlanStart, start_doc("london", "2026-11-23", **overrides))
    with pytest.raises(m.Refusal) as err:
        PlanEngine.check_start(start, profile, cal, NOW.date())
    assert err.value.problems[0][0] == field and reason in str(err.value)


def test_a_plan_start_with_many_bad_fields_names_each_one():
    doc = start_doc(
        category="cruelty", lead_social_worker={"id": "jane.doe@example.org"}, core_group=[{"id": "a"}, {"id": "a"}]
    )
    with pytest.raises(m.Refusal) as err:
        m.parse(m.PlanStart, doc)
    fields = {f for f, _ in err.value.problems}
    assert {"category", "lead_social_worker.id"} <= fields
