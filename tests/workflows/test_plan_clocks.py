"""The statutory clocks of each profile, on a real Temporal server with the real worker.

Each test reads as the practitioner would say it: the conference date, what falls due, who is
reminded before, who is told after, and what the next clocks are once something is recorded.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.helpers import (
    assert_no_failed_workflow_task,
    easter_sunday,
    good_friday,
    isleap,
    london,
    next_year,
    plan_doc,
    running_worker,
    skip_to,
    start_plan_workflow,
    year_when,
)
from tests.helpers.plan_scenario import Plan


async def new_plan(env, task_queue, icpc: str, **overrides) -> Plan:
    await skip_to(env, london(icpc, 11))
    doc = plan_doc(icpc_date=icpc, **overrides)
    handle = await start_plan_workflow(env.client, doc, task_queue=task_queue)
    plan = Plan(env, handle, doc["plan_id"])
    await plan.started()
    return plan


async def test_icpc_friday_before_christmas_first_core_group_escalated_on_7_january(env, db_url):
    # London: ICPC Fri 18 Dec → first core group due Wed 6 Jan (000 9.2.4): ten working days,
    # 25 Dec, 28 Dec (Boxing Day's substitute) and 1 Jan skipped. Every year whose 18 December
    # is a Friday has the same bank holidays on the same weekdays.
    y = await year_when(env, "Fri 18 Dec")
    z = y + 1
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{y}-12-18")
        assert (await plan.obligation("first-core-group"))["due"] == f"{z}-01-06"
        # Reminder to the lead social worker two working days before: Mon 4 Jan, 09:00.
        await plan.at(london(f"{z}-01-04", 8, 30))
        plan.not_told("reminder", "sw-1", "first-core-group")
        await plan.at(london(f"{z}-01-04", 9, 30))
        await plan.told("reminder", "sw-1", "first-core-group")
        # Nothing recorded: the team manager on Thu 7 Jan at 09:00, not before.
        await plan.at(london(f"{z}-01-07", 8, 30))
        plan.not_told("escalation", "tm-1", "first-core-group")
        assert (await plan.obligation("first-core-group"))["status"] == "overdue"
        await plan.at(london(f"{z}-01-07", 9, 30))
        await plan.told("escalation", "tm-1", "first-core-group")
        status = await plan.status()
        first = next(o for o in status["obligations"] if o["id"] == "first-core-group")
        assert first["status"] == "escalated"
        escalation = next(e for e in status["escalations"] if e["obligation_id"] == "first-core-group")
        assert (
            escalation["to"] == "tm-1" and escalation["level"] == 1 and escalation["at"].startswith(f"{z}-01-07T09:00")
        )
        # Recording the meeting on the 7th: met late; the next core group within six weeks,
        # notes within 5 working days, signatures within 5 more (000 9.3.26).
        result = await plan.update("record_core_group", {"date": f"{z}-01-07"})
        assert result["next_due"] == f"{z}-02-18"
        after = await plan.status()
        by_id = {o["id"]: o for o in after["obligations"]}
        assert by_id["first-core-group"]["status"] == "met-late"
        assert by_id["core-group-1"]["due"] == f"{z}-02-18"
        assert by_id["notes-circulated-1"]["due"] == f"{z}-01-14"
        assert by_id["signature-first-core-group-hv-1"]["due"] == f"{z}-01-21"
        assert by_id["signature-first-core-group-par-1"]["due"] == f"{z}-01-21"
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_plan_started_on_a_monday_escalates_to_the_service_manager_after_five_more_days(env, db_url):
    # London: ICPC Mon 11 Jan → due Mon 25 Jan → team manager Tue 26 Jan → service
    # manager Tue 2 Feb (5 working days later) when still nothing is recorded.
    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{z}-01-11")
        await plan.at(london(f"{z}-01-26", 9, 30))
        await plan.told("escalation", "tm-1", "first-core-group")
        plan.not_told("escalation", "sm-1", "first-core-group")
        await plan.at(london(f"{z}-02-02", 9, 30))
        await plan.told("escalation", "sm-1", "first-core-group")
        levels = [
            (e["level"], e["to"])
            for e in (await plan.status())["escalations"]
            if e.get("obligation_id") == "first-core-group"
        ]
        assert levels == [(1, "tm-1"), (2, "sm-1")]
        await assert_no_failed_workflow_task(plan.handle)


async def test_isle_of_man_tt_bank_holiday_and_the_next_visit_from_the_last_real_visit(env, db_url):
    # ICPC Fri 28 May: Mon 31 May (Spring Bank Holiday, the last Monday of May) and Fri 4 Jun
    # (TT Bank Holiday, the first Friday of June) are not working days.
    z = await year_when(env, "Fri 28 May")
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{z}-05-28", policy="isle-of-man")
        assert (await plan.obligation("first-core-group"))["due"] == f"{z}-06-15"
        assert (await plan.obligation("visit-1"))["due"] == f"{z}-06-15"
        await plan.at(london(f"{z}-06-03", 16))
        await plan.update("record_visit", {"date": f"{z}-06-03", "seen": True, "seen_alone": True})
        # The next visit counts from the visit on 3 Jun, not the conference: 10 working days.
        assert (await plan.obligation("visit-2"))["due"] == f"{z}-06-18"
        assert "not held on the conference day" in await plan.refused("record_core_group", {"date": f"{z}-05-28"})
        await assert_no_failed_workflow_task(plan.handle)


async def test_isle_of_man_tynwald_day_moves_the_first_core_group(env, db_url):
    # ICPC Mon 21 Jun: Tynwald Day, Mon 5 Jul, is skipped; ten working days end Tue 6 Jul.
    z = await year_when(env, "Mon 21 Jun")
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{z}-06-21", policy="isle-of-man")
        assert (await plan.obligation("first-core-group"))["due"] == f"{z}-07-06"


async def test_darlington_review_in_91_days_and_school_is_not_a_statutory_visit(env, db_url):
    # ICPC Fri 18 Dec: 91 days later is 19 March when February has 28 days.
    y = await year_when(env, "Fri 18 Dec", also=lambda year: not isleap(year + 1))
    z = y + 1
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{y}-12-18", policy="darlington")
        status = await plan.status()
        by_id = {o["id"]: o for o in status["obligations"]}
        assert by_id["first-core-group"]["due"] == f"{z}-01-06"
        assert by_id["review-conference-1"]["due"] == f"{z}-03-19"
        assert by_id["conference-decisions-1"]["due"] == f"{y}-12-22"
        await plan.at(london(f"{y}-12-21", 17))
        await plan.update("record_visit", {"date": f"{y}-12-21", "seen": True, "location": "other"})
        assert (await plan.obligation("visit-1"))["status"] == "pending"
        await plan.update(
            "record_visit",
            {"date": f"{y}-12-21", "seen": True, "location": "home", "bedroom_seen": True, "again": True},
        )
        assert (await plan.obligation("visit-1"))["status"] == "met"
        assert (await plan.obligation("visit-2"))["due"] == f"{z}-01-07"
        await assert_no_failed_workflow_task(plan.handle)


async def test_tees_review_due_on_29_february_of_a_leap_year(env, db_url):
    # ICPC Mon 29 Nov before a leap year: three months later is 29 February; the first core
    # group ten working days after, Mon 13 Dec.
    y = await year_when(env, "Mon 29 Nov", also=lambda year: isleap(year + 1))
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{y}-11-29", policy="tees")
        assert (await plan.obligation("review-conference-1"))["due"] == f"{y + 1}-02-29"
        assert (await plan.obligation("first-core-group"))["due"] == f"{y}-12-13"


async def test_birmingham_visit_frequency_set_by_the_conference(env, db_url):
    # 004: the plan sets the frequency of contact; this conference said every 5 working days.
    # ICPC the Friday a week before Good Friday, in a year whose Easter is over before May's
    # bank holiday can come into the count: Good Friday and Easter Monday are not working days,
    # so the fifth working day is Easter Tuesday and the tenth the Tuesday a week after.
    def icpc(year):
        return good_friday(year) - timedelta(days=7) if easter_sunday(year) <= date(year, 4, 20) else None

    y, conference = await next_year(env, icpc)
    easter = easter_sunday(y)
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, conference.isoformat(), policy="birmingham", visit_interval_working_days=5)
        assert (await plan.obligation("visit-1"))["due"] == (easter + timedelta(days=2)).isoformat()
        assert (await plan.obligation("first-core-group"))["due"] == (easter + timedelta(days=9)).isoformat()


async def test_the_read_model_follows_the_plan(env, db_url):
    from activities.read_model import get_plan_status, overdue_plans

    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        plan = await new_plan(env, tq, f"{z}-01-11")
        await plan.at(london(f"{z}-01-26", 9, 30))
        await plan.told("escalation", "tm-1", "first-core-group")

        async def saved():
            row = get_plan_status(plan.plan_id)
            assert row and row["overdue_count"] >= 1, row
            return row

        from tests.helpers import eventually

        await eventually(saved)
        assert plan.plan_id in [p["plan_id"] for p in overdue_plans()]
