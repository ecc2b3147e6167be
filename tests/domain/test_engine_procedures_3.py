"""The procedures' third round on the pure engine: whose act meets each clock, what moves with
what, a rule on every path, who is told, and what conferences set. Each test names the seed
sentence it enforces (shared/seeds/). Dates are counted from a conference picked ahead of today's
date (never a fixed calendar date) with the profile's own calendar."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from starters import render
from tests.helpers.engine_plans import sent, start_doc
from workflows import models as m
from workflows.calendar import LONDON, WorkingCalendar, non_working_days
from workflows.engine import PlanEngine
from workflows.policy import ClockRule, get_profile

BUILT_IN = ("london", "isle-of-man", "darlington", "tees", "birmingham")
CHAIR = {"id": "ch-1", "role": "chair", "email": "ch-1@example.org"}
COVER = {"id": "sw-2", "role": "lead-social-worker", "email": "sw-2@example.org"}


def calendar(policy: str, around: date) -> WorkingCalendar:
    profile = get_profile(policy)
    return WorkingCalendar(non_working_days(profile.region, around.year - 1, around.year + 3, profile.closure_days))


def conference_day(policy: str, weeks_ahead: int = 8) -> date:
    """A working Monday some weeks after today, with the two weeks after it working days too."""
    day = date.today() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(7 - day.weekday()) % 7)
    cal = calendar(policy, day)
    while not all(
        cal.is_working_day(day + timedelta(days=d)) for d in range(15) if (day + timedelta(days=d)).weekday() < 5
    ):
        day += timedelta(days=7)
    return day


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def plan_on(policy: str, icpc: date, *, patches: Any = None, **overrides: Any) -> PlanEngine:
    profile = get_profile(policy)
    start = m.parse(m.PlanStart, start_doc(policy, icpc.isoformat(), **overrides))
    if patches is None:
        return PlanEngine.begin(start, profile, calendar(policy, icpc), at(icpc, 15))
    return PlanEngine.begin(start, profile, calendar(policy, icpc), at(icpc, 15), patches)


def ob(plan: PlanEngine, ident: str):
    return next(o for o in plan.state.obligations if o.id == ident)


def history(plan: PlanEngine) -> list[str]:
    return [h.event for h in plan.state.history]


# ---------------------------------------------------------------- who counts


def test_darlington_bedroom_clock_is_met_only_by_the_lead_social_worker():
    """002 'Seeing the Child': "at least every six weeks the lead social worker should have access
    to where the child sleeps"."""
    icpc = conference_day("darlington")
    plan = plan_on("darlington", icpc)
    day = icpc + timedelta(days=3)
    plan.record_visit({"date": day.isoformat(), "seen": True, "bedroom_seen": True, "by": "hv-1"}, at(day, 17))
    assert ob(plan, "bedroom-seen-1").open
    assert "bedroom-seen-not-counted" in history(plan)
    plan.record_visit({"date": day.isoformat(), "seen": True, "bedroom_seen": True, "by": "sw-1"}, at(day, 18))
    assert ob(plan, "bedroom-seen-1").met_on == day


def test_london_seen_alone_is_the_lead_social_workers_while_seen_counts_for_any_core_group_member():
    """000 9.4.6: "The lead social worker should: See the child at home and alone for part of each
    visit, at least every six weeks"; 000 9.3.30 lets "another member of the core group" see the child."""
    icpc = conference_day("london")
    plan = plan_on("london", icpc)
    day = icpc + timedelta(days=3)
    result = plan.record_visit({"date": day.isoformat(), "seen": True, "seen_alone": True, "by": "hv-1"}, at(day, 17))
    assert result["statutory"] is True  # the child seen: 9.3.30
    assert ob(plan, "seen-alone-1").open  # seen alone: the lead social worker's duty
    assert "seen-alone-not-counted" in history(plan)
    # Whoever covers for the lead social worker counts as them.
    plan.change_lead_social_worker(
        {"person": COVER, "cover_until": (day + timedelta(days=20)).isoformat(), "by": "tm-1"}, at(day, 17)
    )
    later = day + timedelta(days=1)
    plan.record_visit({"date": later.isoformat(), "seen": True, "seen_alone": True, "by": "sw-2"}, at(later, 17))
    assert ob(plan, "seen-alone-1").met_on == later


def test_london_statutory_visit_by_someone_outside_the_core_group_is_recorded_not_counted():
    """000 9.3.30: "seen at least every ten working days by the lead social worker or by another
    member of the core group"."""
    icpc = conference_day("london")
    plan = plan_on("london", icpc)
    day = icpc + timedelta(days=3)
    result = plan.record_visit({"date": day.isoformat(), "seen": True, "by": "tm-1"}, at(day, 17))
    assert result["statutory"] is False and ob(plan, "visit-1").open


def test_a_plan_recorded_before_procedures_3_counts_any_sighting_as_it_did():
    icpc = conference_day("darlington")
    plan = plan_on("darlington", icpc)
    plan.patches = replace(plan.patches, procedures_3=False)
    day = icpc + timedelta(days=3)
    plan.record_visit({"date": day.isoformat(), "seen": True, "bedroom_seen": True, "by": "hv-1"}, at(day, 17))
    assert ob(plan, "bedroom-seen-1").met_on == day


@pytest.mark.parametrize("policy", BUILT_IN)
def test_every_clock_of_every_profile_says_whose_act_meets_it_and_cpplan_policy_prints_it(policy):
    profile = get_profile(policy)
    clocks = [name for name in type(profile).model_fields if isinstance(getattr(profile, name), ClockRule)]
    assert {"first_core_group", "core_group", "notes_circulated", "signature", "visit"} <= set(clocks)
    text = render.policy(profile)
    assert text.count("  met by: ") == len(clocks) == text.count("  moves with: ")
    for name in clocks:
        assert len(getattr(profile, name).met_by.source) > 3
    for name, words in profile.moves_with().items():
        assert f"  moves with: {words}" in text, name


def test_cpplan_policy_names_the_darlington_bedroom_sentence_and_the_tees_minutes_following_the_core_group():
    assert (
        "the lead social worker (or whoever covers for them) only (002 'Seeing the Child': 'at least every six weeks the lead social worker should have access to where the child sleeps')"
        in render.policy(get_profile("darlington"))
    )
    assert "moves with: the next core group: 2 weeks before it" in render.policy(get_profile("tees"))


# ---------------------------------------------------------------- what moves with what


def tees_after_first_core_group() -> tuple[PlanEngine, date]:
    icpc = conference_day("tees")
    plan = plan_on("tees", icpc)
    held = icpc + timedelta(days=7)
    plan.record_core_group({"date": held.isoformat()}, at(held, 17))
    return plan, held


def test_tees_minutes_and_signatures_follow_the_next_core_group_earlier_and_later():
    """003 §2: minutes "circulated to all Core Group members 2 weeks prior to the next scheduled
    Core Group"."""
    plan, held = tees_after_first_core_group()
    nxt = ob(plan, "core-group-1")
    notes = ob(plan, "notes-circulated-1")
    assert notes.due == nxt.due - timedelta(weeks=2)
    earlier = nxt.due - timedelta(weeks=1)
    plan.schedule_meeting({"kind": "core_group", "date": earlier.isoformat()}, at(held, 18))
    assert notes.due == earlier - timedelta(weeks=2)
    sigs = [o for o in plan.state.obligations if o.kind == "signature"]
    assert sigs and all(s.due == plan.cal.add_working_days(notes.due, 5) for s in sigs)
    later = earlier + timedelta(days=4)
    plan.schedule_meeting({"kind": "core_group", "date": later.isoformat()}, at(held, 19))
    assert notes.due == later - timedelta(weeks=2)


def test_minutes_never_fall_due_before_the_meeting_they_record():
    plan, held = tees_after_first_core_group()
    soon = held + timedelta(days=3)
    plan.schedule_meeting({"kind": "core_group", "date": soon.isoformat()}, at(held, 18))
    assert ob(plan, "notes-circulated-1").due == held


def test_darlington_excluded_parents_report_follows_the_review_conference():
    """002 'Exclusion of Family Members from a Conference': "Those excluded should be provided with
    a copy of the social worker's report to the conference (... five working days before a Review
    Conference)"."""
    icpc = conference_day("darlington")
    plan = plan_on("darlington", icpc, chair=CHAIR)
    review = ob(plan, "review-conference-1")
    today = icpc + timedelta(days=10)
    plan.schedule_meeting(
        {"kind": "review_conference", "date": review.due.isoformat(), "excluded_parents": ["par-1"], "by": "ch-1"},
        at(today),
    )
    report = ob(plan, "excluded-parent-report-review-conference-1-par-1")
    assert report.due == plan.cal.add_working_days(review.due, -5)
    assert plan.responsible(report, today).id == "sw-1"  # the parent is not chased for it
    earlier = review.due - timedelta(weeks=3)
    plan.schedule_meeting({"kind": "review_conference", "date": earlier.isoformat(), "by": "tm-1"}, at(today, 11))
    assert report.due == plan.cal.add_working_days(earlier, -5)
    plan.record_completion({"obligation_id": report.id, "date": today.isoformat()}, at(today, 12))
    assert report.met_on == today


def test_excluding_a_parent_is_the_chairs_decision_about_a_parent_and_only_where_the_profile_has_it():
    icpc = conference_day("darlington")
    plan = plan_on("darlington", icpc, chair=CHAIR)
    due = ob(plan, "review-conference-1").due.isoformat()
    now = at(icpc + timedelta(days=10))
    payload = {"kind": "review_conference", "date": due, "excluded_parents": ["par-1"]}
    with pytest.raises(m.Refusal, match="by: excluding a parent is the chair's decision"):
        plan.schedule_meeting(payload, now)
    with pytest.raises(m.Refusal, match="not one of this plan's managers"):
        plan.schedule_meeting({**payload, "by": "hv-1"}, now)
    with pytest.raises(m.Refusal, match=r"excluded_parents\.0: 'hv-1' is not a parent or carer"):
        plan.schedule_meeting({**payload, "excluded_parents": ["hv-1"], "by": "ch-1"}, now)
    with pytest.raises(m.Refusal, match="a parent is excluded from a review conference, not a core group"):
        plan.schedule_meeting({**payload, "kind": "core_group", "date": now.date().isoformat(), "by": "ch-1"}, now)
    london = plan_on("london", icpc)
    with pytest.raises(m.Refusal, match="this profile has no rule for a parent excluded"):
        london.schedule_meeting(
            {**payload, "date": ob(london, "review-conference-1").due.isoformat(), "by": "tm-1"}, now
        )


# ---------------------------------------------------------------- a rule on every path


def test_isle_of_man_first_core_group_is_not_arranged_for_the_conference_day():
    """001 2.2: "This meeting should not be held immediately after the Child Protection Conference"."""
    icpc = conference_day("isle-of-man")
    plan = plan_on("isle-of-man", icpc)
    with pytest.raises(m.Refusal, match=r"date: the first core group is not held on the conference day \(001 2.2"):
        plan.schedule_meeting({"kind": "core_group", "date": icpc.isoformat()}, at(icpc, 16))
    nxt = icpc + timedelta(days=1)
    assert (
        plan.schedule_meeting({"kind": "core_group", "date": nxt.isoformat()}, at(icpc, 16))["due"] == nxt.isoformat()
    )
    # As it ran before procedures-3: accepted.
    old = plan_on("isle-of-man", icpc)
    old.patches = replace(old.patches, procedures_3=False)
    old.schedule_meeting({"kind": "core_group", "date": icpc.isoformat()}, at(icpc, 16))


def test_a_pre_birth_plans_first_core_group_is_not_arranged_after_the_birth():
    """002 'Unborn Child Protection Conference': "The Core Group must be established and is expected
    to meet prior to the birth"."""
    icpc = conference_day("darlington")
    birth = icpc + timedelta(days=5)
    plan = plan_on("darlington", icpc, conference_kind="pre-birth", expected_birth_date=birth.isoformat())
    # Its limit is the last working day before the birth (procedures-2), on every path that sets it.
    with pytest.raises(m.Refusal, match=f"date: {birth.isoformat()} is past the limit"):
        plan.schedule_meeting({"kind": "core_group", "date": birth.isoformat()}, at(icpc, 16))
    with pytest.raises(m.Refusal, match="first_core_group_date: .* is not before the expected birth"):
        plan_on(
            "darlington",
            icpc,
            conference_kind="pre-birth",
            expected_birth_date=birth.isoformat(),
            first_core_group_date=birth.isoformat(),
        )


# ---------------------------------------------------------------- who is told


def test_london_plan_that_cannot_be_implemented_tells_the_lead_social_worker_and_asks_for_a_core_group_discussion():
    """000 9.5.2: "the lead social worker must be informed immediately and a core group meeting /
    discussion co-ordinated to agree a reconsidered child protection plan"."""
    icpc = conference_day("london")
    plan = plan_on("london", icpc, chair=CHAIR)
    day = icpc + timedelta(days=4)
    sent(plan)
    plan.report_incident({"kind": "implementation-difficulty", "date": day.isoformat()}, at(day, 11))
    told = {to for kind, to, _ in sent(plan) if kind == "alert"}
    assert {"ch-1", "tm-1", "sw-1"} <= told
    talk = next(o for o in plan.state.obligations if o.kind == "core-group-discussion")
    assert talk.due == plan.cal.add_working_days(day, 5)
    plan.record_core_group({"date": (day + timedelta(days=1)).isoformat()}, at(day + timedelta(days=1), 17))
    assert talk.met_on == day + timedelta(days=1)


def test_isle_of_man_keeps_its_own_reading_no_core_group_discussion_asked():
    icpc = conference_day("isle-of-man")
    plan = plan_on("isle-of-man", icpc, chair=CHAIR)
    day = icpc + timedelta(days=4)
    sent(plan)
    plan.report_incident({"kind": "implementation-difficulty", "date": day.isoformat()}, at(day, 11))
    assert "sw-1" not in {to for kind, to, _ in sent(plan) if kind == "alert"}
    assert not [o for o in plan.state.obligations if o.kind == "core-group-discussion"]


def test_tees_early_discontinuation_is_considered_with_the_team_manager_and_the_chair():
    """003 §3: "Consideration should be given, following consultation with the Social Work Team
    Manager and Chair of Conference, to convening an earlier Conference"."""
    icpc = conference_day("tees")
    plan = plan_on("tees", icpc, chair=CHAIR)
    day = icpc + timedelta(days=4)
    sent(plan)
    plan.report_incident({"kind": "plan-not-needed", "date": day.isoformat()}, at(day, 11))
    assert {to for kind, to, _ in sent(plan) if kind == "alert"} == {"tm-1", "ch-1"}
    unnamed = plan_on("tees", icpc)
    unnamed.report_incident({"kind": "plan-not-needed", "date": day.isoformat()}, at(day, 11))
    letters = [n for n in unnamed.state.outbox if n.kind == "alert"]
    assert [n.to_id for n in letters] == ["tm-1"]
    assert "please consult the chair of conference" in letters[0].body


# ---------------------------------------------------------------- what conferences set


def test_isle_of_man_review_conference_sets_the_core_group_interval():
    """001 2.3: subsequent core groups "Should meet within the timescales specified at the initial
    or review conference"."""
    icpc = conference_day("isle-of-man")
    plan = plan_on("isle-of-man", icpc)
    held = icpc + timedelta(days=7)
    plan.record_core_group({"date": held.isoformat()}, at(held, 17))
    review = held + timedelta(days=21)
    plan.record_review_conference(
        {"date": review.isoformat(), "outcome": "continue", "core_group_interval_weeks": 4}, at(review, 17)
    )
    assert ob(plan, "core-group-1").due == held + timedelta(weeks=4)
    assert plan._core_group_interval().weeks == 4
    with pytest.raises(m.Refusal, match="core_group_interval_weeks: is set by a review conference that continues"):
        plan.record_review_conference(
            {"date": review.isoformat(), "outcome": "inquorate", "core_group_interval_weeks": 4}, at(review, 18)
        )


def test_london_seen_alone_at_intervals_the_conference_sets_at_the_start_and_at_a_review():
    """000 9.4.6: seen alone "at least every six weeks or at the intervals specified by the child
    protection conference plan"."""
    icpc = conference_day("london")
    plan = plan_on("london", icpc, seen_alone_interval_weeks=3)
    assert ob(plan, "seen-alone-1").due == icpc + timedelta(weeks=3)
    review = icpc + timedelta(days=14)
    plan.record_review_conference(
        {"date": review.isoformat(), "outcome": "continue", "seen_alone_interval_weeks": 2}, at(review, 17)
    )
    assert ob(plan, "seen-alone-1").due == icpc + timedelta(weeks=2)
    day = review + timedelta(days=1)
    plan.record_visit({"date": day.isoformat(), "seen": True, "seen_alone": True}, at(day, 17))
    assert ob(plan, "seen-alone-2").due == day + timedelta(weeks=2)
    with pytest.raises(m.Refusal, match="seen_alone_interval_weeks: this profile has no clock"):
        plan_on("darlington", icpc, seen_alone_interval_weeks=3)


def test_darlington_transfer_conference_after_fifteen_working_days_of_the_agreement_is_reported():
    """002 'Transfer Child Protection Conference': "A transfer conference should be held within 15
    working days of the agreement between the two authorities"."""
    icpc = conference_day("darlington")
    cal = calendar("darlington", icpc)
    on_time = plan_on(
        "darlington",
        icpc,
        conference_kind="transfer-in",
        transfer_agreement_date=cal.add_working_days(icpc, -15).isoformat(),
    )
    assert "transfer-agreed" in history(on_time)
    assert not [n for n in on_time.state.outbox if n.kind == "alert" and "transfer" in n.subject]
    late = plan_on(
        "darlington",
        icpc,
        conference_kind="transfer-in",
        transfer_agreement_date=cal.add_working_days(icpc, -16).isoformat(),
    )
    assert [n.to_id for n in late.state.outbox if "transfer conference held" in n.subject] == ["tm-1"]
    with pytest.raises(m.Refusal, match="transfer_agreement_date: only a transfer-in plan has one"):
        plan_on("darlington", icpc, transfer_agreement_date=icpc.isoformat())
    with pytest.raises(m.Refusal, match="transfer_agreement_date: is after the transfer conference"):
        plan_on(
            "darlington",
            icpc,
            conference_kind="transfer-in",
            transfer_agreement_date=(icpc + timedelta(days=1)).isoformat(),
        )


def test_birmingham_chair_writes_to_professionals_who_neither_attended_nor_sent_a_report():
    """004 'Role of the Chair': "To write to any professional who did not attend or send a report
    for a conference and request an explanation as to why this has happened"."""
    icpc = conference_day("birmingham")
    doc_core = [
        {"id": "hv-1", "email": "hv-1@example.org"},
        {"id": "gp-1", "email": "gp-1@example.org"},
        {"id": "sn-1", "email": "sn-1@example.org"},
        {"id": "par-1", "role": "parent", "email": "par-1@example.org"},
    ]
    plan = plan_on("birmingham", icpc, chair=CHAIR, core_group=doc_core)
    review = icpc + timedelta(days=21)
    sent(plan)
    plan.record_review_conference(
        {
            "date": review.isoformat(),
            "outcome": "continue",
            "attended": ["sw-1", "hv-1"],
            "apologies": ["gp-1", "sn-1"],
            "reports_received": ["sn-1"],
        },
        at(review, 17),
    )
    letter = next(o for o in plan.state.obligations if o.kind == "attendance-letter")
    assert letter.group == "to gp-1"  # sent apologies but no report; the parent is not written to
    assert plan.responsible(letter, review).id == "ch-1"
    assert ("alert", "ch-1", letter.id) in sent(plan)
    assert "conference-attendance" in history(plan)
    with pytest.raises(m.Refusal, match=r"attended\.0: 'zz-9' is not one of this plan's people"):
        plan.record_review_conference(
            {"date": review.isoformat(), "outcome": "continue", "attended": ["zz-9"]}, at(review, 18)
        )


def test_no_letter_is_asked_for_when_who_attended_is_not_said():
    icpc = conference_day("birmingham")
    plan = plan_on("birmingham", icpc, chair=CHAIR)
    review = icpc + timedelta(days=21)
    plan.record_review_conference(
        {"date": review.isoformat(), "outcome": "continue", "apologies": ["hv-1"]}, at(review, 17)
    )
    assert not [o for o in plan.state.obligations if o.kind == "attendance-letter"]
    assert "conference-attendance" in history(plan)


def test_a_start_with_a_seen_alone_interval_the_profile_has_no_clock_for_is_refused_before_it_starts():
    icpc = conference_day("darlington")
    profile = get_profile("darlington")
    start = m.parse(m.PlanStart, start_doc("darlington", icpc.isoformat(), seen_alone_interval_weeks=3))
    with pytest.raises(m.Refusal, match="seen_alone_interval_weeks: this profile has no clock"):
        PlanEngine.check_start(start, profile, calendar("darlington", icpc), icpc)


def test_tees_minutes_still_owed_for_an_earlier_meeting_stay_with_the_meeting_they_came_before():
    """003 §2: each meeting's minutes are counted from the core group after it; moving a later one
    leaves late minutes of an earlier meeting where they were."""
    plan, held = tees_after_first_core_group()
    second = held + timedelta(weeks=3)
    plan.record_core_group({"date": second.isoformat()}, at(second, 17))
    first_notes, second_notes = ob(plan, "notes-circulated-1"), ob(plan, "notes-circulated-2")
    before = first_notes.due
    earlier = ob(plan, "core-group-2").due - timedelta(weeks=1)
    plan.schedule_meeting({"kind": "core_group", "date": earlier.isoformat()}, at(second, 18))
    assert first_notes.due == before
    assert second_notes.due == earlier - timedelta(weeks=2)


def test_london_bedroom_seen_by_a_core_group_member_counts():
    """000 9.4.6: the lead social worker should "Ensure that the child's bedroom is seen at least
    once between each conference" (the reading the profile takes: seen by them or a core group member)."""
    icpc = conference_day("london")
    plan = plan_on("london", icpc)
    day = icpc + timedelta(days=3)
    plan.record_visit({"date": day.isoformat(), "seen": True, "bedroom_seen": True, "by": "hv-1"}, at(day, 17))
    assert ob(plan, "bedroom-seen-1").met_on == day


def test_plans_recorded_before_procedures_3_keep_their_minutes_and_recipients_as_they_ran():
    plan, held = tees_after_first_core_group()
    plan.patches = replace(plan.patches, procedures_3=False)
    notes = ob(plan, "notes-circulated-1")
    before = notes.due
    earlier = ob(plan, "core-group-1").due - timedelta(weeks=1)
    plan.schedule_meeting({"kind": "core_group", "date": earlier.isoformat()}, at(held, 18))
    assert notes.due == before
    icpc = conference_day("london")
    london = plan_on("london", icpc, chair=CHAIR)
    london.patches = replace(london.patches, procedures_3=False)
    day = icpc + timedelta(days=4)
    sent(london)
    london.report_incident({"kind": "implementation-difficulty", "date": day.isoformat()}, at(day, 11))
    assert "sw-1" not in {to for kind, to, _ in sent(london) if kind == "alert"}
    assert not [o for o in london.state.obligations if o.kind == "core-group-discussion"]
