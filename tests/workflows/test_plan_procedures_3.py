"""The procedures' third round on the time-skipping server, one scenario each, naming the seed
sentence it enforces. Dates are computed from the server's clock (never fixed calendar dates)
and the profile's own calendar."""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import assert_no_failed_workflow_task, london, running_worker
from tests.workflows.test_plan_procedures import a_working_monday, calendar, start

CHAIR = {"id": "ch-1", "role": "chair", "email": "ch-1@example.org"}


async def test_darlington_bedroom_clock_is_met_only_by_the_lead_social_worker(env, db_url):
    """002 'Seeing the Child': "at least every six weeks the lead social worker should have access
    to where the child sleeps"; 000 9.4.6: "The lead social worker should: See the child at home and
    alone for part of each visit, at least every six weeks"."""
    icpc = await a_working_monday(env, "darlington")
    visit = calendar("darlington", icpc).add_working_days(icpc, 3)
    async with running_worker(env) as tq:
        darlington = await start(env, tq, "darlington", icpc)
        london_plan = await start(env, tq, "london", icpc)
        await darlington.at(london(visit, 17))
        seen = {"date": visit.isoformat(), "seen": True, "bedroom_seen": True, "by": "hv-1"}
        await darlington.update("record_visit", seen)
        assert "met_on" not in await darlington.obligation("bedroom-seen-1")
        await darlington.update("record_visit", {**seen, "by": "sw-1", "again": True})
        assert (await darlington.obligation("bedroom-seen-1"))["met_on"] == visit.isoformat()
        alone = {"date": visit.isoformat(), "seen": True, "seen_alone": True, "by": "hv-1"}
        assert (await london_plan.update("record_visit", alone))["statutory"] is True  # 000 9.3.30
        assert "met_on" not in await london_plan.obligation("seen-alone-1")
        await london_plan.update("record_visit", {**alone, "by": "sw-1", "again": True})
        assert (await london_plan.obligation("seen-alone-1"))["met_on"] == visit.isoformat()
        await assert_no_failed_workflow_task(darlington.handle)
        await assert_no_failed_workflow_task(london_plan.handle)


async def test_tees_minutes_move_with_the_next_core_group(env, db_url):
    """003 §2: minutes "circulated to all Core Group members 2 weeks prior to the next scheduled
    Core Group": moving the next core group earlier moves its minutes."""
    icpc = await a_working_monday(env, "tees")
    held = calendar("tees", icpc).add_working_days(icpc, 5)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "tees", icpc)
        await plan.at(london(held, 17))
        await plan.update("record_core_group", {"date": held.isoformat()})
        nxt = (await plan.obligation("core-group-1"))["due"]
        earlier = held + timedelta(weeks=4)
        assert earlier.isoformat() < nxt
        await plan.update("schedule_meeting", {"kind": "core_group", "date": earlier.isoformat()})
        assert (await plan.obligation("notes-circulated-1"))["due"] == (earlier - timedelta(weeks=2)).isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_isle_of_man_refuses_to_arrange_the_first_core_group_on_the_conference_day(env, db_url):
    """001 2.2: the first core group "should not be held immediately after the Child Protection
    Conference", on `schedule_meeting` as on the start and `record_core_group`."""
    icpc = await a_working_monday(env, "isle-of-man")
    async with running_worker(env) as tq:
        plan = await start(env, tq, "isle-of-man", icpc)
        refusal = await plan.refused("schedule_meeting", {"kind": "core_group", "date": icpc.isoformat()})
        assert "not held on the conference day (001 2.2" in refusal
        assert "not held on the conference day" in await plan.refused("record_core_group", {"date": icpc.isoformat()})
        nxt = (icpc + timedelta(days=1)).isoformat()
        assert (await plan.update("schedule_meeting", {"kind": "core_group", "date": nxt}))["due"] == nxt
        await assert_no_failed_workflow_task(plan.handle)


async def test_london_plan_that_cannot_be_implemented_tells_the_lead_social_worker(env, db_url):
    """000 9.5.2: "the lead social worker must be informed immediately and a core group meeting /
    discussion co-ordinated to agree a reconsidered child protection plan"."""
    icpc = await a_working_monday(env, "london")
    cal = calendar("london", icpc)
    day = cal.add_working_days(icpc, 2)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "london", icpc, chair=CHAIR)
        await plan.at(london(day, 11))
        await plan.signal("report_incident", {"kind": "implementation-difficulty", "date": day.isoformat()})
        await plan.told("alert", "sw-1", "early-review-decision-1")
        await plan.told("alert", "ch-1", "early-review-decision-1")
        talk = await plan.obligation("core-group-discussion-1")
        assert talk["due"] == cal.add_working_days(day, 5).isoformat()
        await plan.update("record_core_group", {"date": day.isoformat()})
        assert (await plan.obligation("core-group-discussion-1"))["met_on"] == day.isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_isle_of_man_review_conference_sets_the_core_group_interval(env, db_url):
    """001 2.3: core groups "Should meet within the timescales specified at the initial or review
    conference"."""
    icpc = await a_working_monday(env, "isle-of-man")
    cal = calendar("isle-of-man", icpc)
    held = cal.add_working_days(icpc, 5)
    review = cal.on_or_after(icpc + timedelta(days=30))
    async with running_worker(env) as tq:
        plan = await start(env, tq, "isle-of-man", icpc)
        await plan.at(london(held, 17))
        await plan.update("record_core_group", {"date": held.isoformat()})
        await plan.at(london(review, 16))
        await plan.update(
            "record_review_conference",
            {"date": review.isoformat(), "outcome": "continue", "core_group_interval_weeks": 3},
        )
        # The workflow continues as new after a review: the interval is carried with the plan.
        assert (await plan.obligation("core-group-1"))["due"] == (held + timedelta(weeks=3)).isoformat()
        meeting = review + timedelta(days=1)
        await plan.at(london(meeting, 17))
        result = await plan.update("record_core_group", {"date": meeting.isoformat()})
        assert result["next_due"] == (meeting + timedelta(weeks=3)).isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_birmingham_chair_is_asked_to_write_to_professionals_who_missed_the_conference(env, db_url):
    """004 'Role of the Chair': "To write to any professional who did not attend or send a report
    for a conference and request an explanation as to why this has happened"."""
    icpc = await a_working_monday(env, "birmingham")
    cal = calendar("birmingham", icpc)
    review = cal.on_or_after(icpc + timedelta(days=30))
    async with running_worker(env) as tq:
        plan = await start(env, tq, "birmingham", icpc, chair=CHAIR)
        await plan.at(london(review, 16))
        await plan.update(
            "record_review_conference",
            {"date": review.isoformat(), "outcome": "continue", "attended": ["sw-1", "par-1"], "apologies": ["hv-1"]},
        )
        letter = await plan.obligation("attendance-letter-1")
        assert letter["due"] == cal.add_working_days(review, 10).isoformat()
        await plan.told("alert", "ch-1", "attendance-letter-1")
        await assert_no_failed_workflow_task(plan.handle)


async def test_darlington_parent_excluded_gets_the_report_five_working_days_before_the_review(env, db_url):
    """002 'Exclusion of Family Members from a Conference': "Those excluded should be provided with
    a copy of the social worker's report to the conference (... five working days before a Review
    Conference)"; the report moves with the conference."""
    icpc = await a_working_monday(env, "darlington")
    cal = calendar("darlington", icpc)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "darlington", icpc, chair=CHAIR)
        review = (await plan.obligation("review-conference-1"))["due"]
        await plan.update(
            "schedule_meeting",
            {"kind": "review_conference", "date": review, "excluded_parents": ["par-1"], "by": "ch-1"},
        )
        ident = "excluded-parent-report-review-conference-1-par-1"

        assert (await plan.obligation(ident))["due"] == cal.add_working_days(date.fromisoformat(review), -5).isoformat()
        earlier = cal.on_or_after(icpc + timedelta(days=40))
        await plan.update("schedule_meeting", {"kind": "review_conference", "date": earlier.isoformat(), "by": "tm-1"})
        assert (await plan.obligation(ident))["due"] == cal.add_working_days(earlier, -5).isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_tees_early_review_is_asked_of_the_team_manager_and_the_chair(env, db_url):
    """003 §3: "Consideration should be given, following consultation with the Social Work Team
    Manager and Chair of Conference, to convening an earlier Conference" (early discontinuation)."""
    icpc = await a_working_monday(env, "tees")
    day = calendar("tees", icpc).add_working_days(icpc, 2)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "tees", icpc, chair=CHAIR)
        await plan.at(london(day, 11))
        await plan.signal("report_incident", {"kind": "plan-not-needed", "date": day.isoformat()})
        await plan.told("alert", "tm-1", "early-review-decision-1")
        await plan.told("alert", "ch-1", "early-review-decision-1")
        await assert_no_failed_workflow_task(plan.handle)


async def test_darlington_transfer_conference_late_after_the_agreement_is_reported(env, db_url):
    """002 'Transfer Child Protection Conference': "A transfer conference should be held within 15
    working days of the agreement between the two authorities"; one held later still starts the
    plan (treated as an initial conference) and the team manager is told."""
    icpc = await a_working_monday(env, "darlington")
    agreed = calendar("darlington", icpc).add_working_days(icpc, -16)
    async with running_worker(env) as tq:
        plan = await start(
            env, tq, "darlington", icpc, conference_kind="transfer-in", transfer_agreement_date=agreed.isoformat()
        )
        assert (await plan.status())["state"] == "active"
        await plan.told("alert", "tm-1")
        assert any(r["key"].endswith(":transfer-conference-late-1:tm-1") for r in plan.notifications())
        assert any(h["event"] == "transfer-agreed" for h in (await plan.status())["history"])
        await assert_no_failed_workflow_task(plan.handle)
