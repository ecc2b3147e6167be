"""The plan's clocks as a practitioner states them, on the pure engine (no server)."""

from datetime import timedelta

from tests.helpers.engine_plans import at, new_plan, obligation, sent


def test_london_first_core_group_reminder_escalation_and_second_level():
    # ICPC Mon 23 Nov 2026 → first core group due Mon 7 Dec.
    plan = new_plan("london", "2026-11-23")
    assert obligation(plan, "first-core-group", at("2026-11-23"))["due"] == "2026-12-07"
    sent(plan)  # nothing is sent at the start
    # Reminder to the lead social worker at 09:00 two working days before: Thu 3 Dec.
    plan.fire(at("2026-12-03", 8, 59))
    assert ("reminder", "sw-1", "first-core-group") not in sent(plan)
    plan.fire(at("2026-12-03", 9, 0))
    assert ("reminder", "sw-1", "first-core-group") in sent(plan)
    # Nothing recorded: the team manager at 09:00 on the first working day after, Tue 8 Dec.
    plan.fire(at("2026-12-07", 17))
    assert obligation(plan, "first-core-group", at("2026-12-07", 17))["status"] == "pending"
    assert obligation(plan, "first-core-group", at("2026-12-08", 8))["status"] == "overdue"
    plan.fire(at("2026-12-08", 9))
    assert ("escalation", "tm-1", "first-core-group") in sent(plan)
    assert obligation(plan, "first-core-group", at("2026-12-08", 9))["status"] == "escalated"
    # Still nothing 5 working days later: the service manager, Tue 15 Dec.
    plan.fire(at("2026-12-14", 17))
    assert ("escalation", "sm-1", "first-core-group") not in sent(plan)
    plan.fire(at("2026-12-15", 9))
    assert ("escalation", "sm-1", "first-core-group") in sent(plan)
    levels = [(e.level, e.to) for e in plan.state.escalations if e.obligation_id == "first-core-group"]
    assert levels == [(1, "tm-1"), (2, "sm-1")]


def test_friday_before_christmas_icpc_escalates_on_thursday_7_january():
    plan = new_plan("london", "2026-12-18")
    assert obligation(plan, "first-core-group", at("2026-12-18"))["due"] == "2027-01-06"
    wake = plan.next_wakeup()
    assert wake is not None and wake.date().isoformat() == "2027-01-04"  # reminder, 2 WD before
    plan.fire(at("2027-01-06", 23))
    assert ("escalation", "tm-1", "first-core-group") not in sent(plan)
    plan.fire(at("2027-01-07", 9))
    assert ("escalation", "tm-1", "first-core-group") in sent(plan)


def test_a_late_core_group_is_met_late_and_starts_the_next_clocks():
    plan = new_plan("london", "2026-11-23")
    plan.fire(at("2026-12-08", 9))
    result = plan.record_core_group({"date": "2026-12-09"}, at("2026-12-09", 16))
    now = at("2026-12-09", 16)
    assert obligation(plan, "first-core-group", now)["status"] == "met-late"
    # 000 9.2.4: next within six weeks; 9.3.26: notes 5 WD, signatures 5 WD after circulation.
    assert result["next_due"] == "2027-01-20"
    assert obligation(plan, "core-group-1", now)["due"] == "2027-01-20"
    assert obligation(plan, "notes-circulated-1", now)["due"] == "2026-12-16"
    assert obligation(plan, "signature-first-core-group-hv-1", now)["due"] == "2026-12-23"
    # Notes go out a day early: the signatures are due 5 working days after that.
    plan.record_notes_circulated({"date": "2026-12-15"}, at("2026-12-15", 12))
    assert obligation(plan, "signature-first-core-group-par-1", at("2026-12-15"))["due"] == "2026-12-22"
    plan.record_signature({"member_id": "hv-1", "date": "2026-12-17"}, at("2026-12-17", 12))
    assert obligation(plan, "signature-first-core-group-hv-1", at("2026-12-17", 12))["status"] == "met"


def test_the_next_visit_is_due_from_the_last_real_visit():
    plan = new_plan("london", "2026-11-23")
    assert obligation(plan, "visit-1", at("2026-11-23"))["due"] == "2026-12-07"
    plan.record_visit({"date": "2026-12-01", "seen": True, "seen_alone": True}, at("2026-12-01", 18))
    assert obligation(plan, "visit-1", at("2026-12-01", 18))["status"] == "met"
    assert obligation(plan, "visit-2", at("2026-12-01", 18))["due"] == "2026-12-15"
    assert obligation(plan, "seen-alone-2", at("2026-12-01", 18))["due"] == "2027-01-12"


def test_seeing_the_child_at_school_is_not_a_statutory_visit_in_darlington():
    plan = new_plan("darlington", "2026-11-23")
    plan.record_visit({"date": "2026-11-30", "seen": True, "location": "other"}, at("2026-11-30", 18))
    assert obligation(plan, "visit-1", at("2026-11-30", 18))["status"] == "pending"
    plan.record_visit(
        {"date": "2026-12-02", "seen": True, "location": "parent-home", "bedroom_seen": True}, at("2026-12-02", 18)
    )
    assert obligation(plan, "visit-1", at("2026-12-02", 18))["status"] == "met"
    assert obligation(plan, "bedroom-seen-2", at("2026-12-02", 18))["due"] == "2027-01-13"


def test_a_manager_can_authorise_a_different_visit_frequency():
    plan = new_plan("birmingham", "2026-11-23")
    plan.set_visit_frequency({"interval_working_days": 5, "by": "tm-1"}, at("2026-11-24"))
    assert obligation(plan, "visit-1", at("2026-11-24"))["due"] == "2026-11-30"


def test_tees_minutes_are_due_two_weeks_before_the_next_core_group():
    plan = new_plan("tees", "2026-11-23")
    plan.record_core_group({"date": "2026-12-01", "next_date": "2027-01-05"}, at("2026-12-01", 17))
    assert obligation(plan, "notes-circulated-1", at("2026-12-01", 17))["due"] == "2026-12-22"


def test_darlington_conference_administration_clocks():
    # 002: report to parents ≥2 WD and to the chair ≥3 WD before the review (due Fri 19 Mar
    # 2027); decisions ≤2 WD and the record ≤20 WD after the ICPC.
    plan = new_plan("darlington", "2026-12-18")
    now = at("2026-12-18")
    assert obligation(plan, "review-conference-1", now)["due"] == "2027-03-19"
    assert obligation(plan, "conference-report-parents-1", now)["due"] == "2027-03-17"
    assert obligation(plan, "conference-report-chair-1", now)["due"] == "2027-03-16"
    assert obligation(plan, "conference-decisions-1", now)["due"] == "2026-12-22"
    assert obligation(plan, "conference-record-1", now)["due"] == "2027-01-20"


def test_london_core_groups_become_two_monthly_after_the_first_review():
    plan = new_plan("london", "2026-11-23")
    plan.record_core_group({"date": "2026-12-03"}, at("2026-12-03", 17))
    plan.record_review_conference({"date": "2027-02-19", "outcome": "continue"}, at("2027-02-19", 17))
    plan.record_core_group({"date": "2027-02-26"}, at("2027-02-26", 17))
    assert obligation(plan, "core-group-2", at("2027-02-26", 17))["due"] == "2027-04-26"
    assert obligation(plan, "review-conference-2", at("2027-02-26", 17))["due"] == "2027-08-19"


def test_a_plan_imported_late_skips_reminders_and_escalates_at_once():
    plan = new_plan("london", "2026-11-23", now=at("2026-12-20"))
    plan.fire(at("2026-12-21", 9))
    out = sent(plan)
    assert ("reminder", "sw-1", "first-core-group") not in out
    assert ("escalation", "tm-1", "first-core-group") in out


def test_status_names_the_earliest_pending_obligation():
    plan = new_plan("london", "2026-11-23")
    status = plan.status(at("2026-11-23")).as_json()
    assert status["next_due"]["due"] == "2026-12-07"
    assert status["state"] == "active" and status["policy"] == "london"
    assert status["history"][0]["event"] == "plan-started"


def test_wakeups_are_at_nine_london_time_even_in_summer():
    plan = new_plan("isle-of-man", "2027-06-01")
    wake = plan.next_wakeup()
    assert wake is not None and wake.utcoffset() == timedelta(hours=1) and wake.hour == 9
