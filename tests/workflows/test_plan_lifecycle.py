"""Whole plans on the real server: incidents, managers' decisions, missing, death, ending, and a
three-year plan that continues as new at every review conference without losing anything."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.api.enums.v1 import EventType

from tests.helpers import (
    assert_no_failed_workflow_task,
    eventually,
    isleap,
    london,
    plan_doc,
    running_worker,
    skip_to,
    start_plan_workflow,
    year_when,
)
from tests.helpers.plan_scenario import Plan
from workflows.calendar import WorkingCalendar, non_working_days


async def start(env, tq, icpc: str, **overrides) -> Plan:
    await skip_to(env, london(icpc, 11))
    doc = plan_doc(icpc_date=icpc, **overrides)
    plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    return plan


async def next_run(plan: Plan, run_id: str) -> str:
    async def moved() -> str:
        current = (await plan.handle.describe()).run_id
        assert current != run_id, "still the same run"
        return current

    return await eventually(moved)


async def test_incident_early_review_held_continue_then_end_with_step_down(env, db_url):
    # ICPC Mon 11 Jan, Isle of Man, in a year of 365 days: the plan ends on Fri 13 Aug, and the
    # ten working days after it hold no bank holiday (the Late Summer one is Mon 30 Aug).
    z = await year_when(env, "Mon 11 Jan", also=lambda year: not isleap(year))
    async with running_worker(env) as tq:
        plan = await start(env, tq, f"{z}-01-11", policy="isle-of-man")
        await plan.at(london(f"{z}-02-01", 14))
        await plan.signal("report_incident", {"kind": "new-incident", "date": f"{z}-02-01", "summary_ref": "s47-0042"})
        await plan.told("alert", "tm-1", "early-review-decision-1")
        # Only a manager may decide, and never past the statutory limit (3 months: 11 Apr).
        assert "not one of this plan's managers" in await plan.refused(
            "authorise_early_review", {"by": "sw-1", "review_date": f"{z}-02-15"}
        )
        assert f"past the statutory limit {z}-04-11" in await plan.refused(
            "authorise_early_review", {"by": "tm-1", "review_date": f"{z}-04-20"}
        )
        await plan.update("authorise_early_review", {"by": "tm-1", "review_date": f"{z}-02-15"})
        assert (await plan.obligation("review-conference-1"))["due"] == f"{z}-02-15"
        for member in ("sw-1", "tm-1", "hv-1", "par-1"):
            await plan.told("letter", member)
        # The early review is held and the plan continues: a new run starts from it.
        first_run = (await plan.handle.describe()).run_id
        await plan.at(london(f"{z}-02-15", 16))
        result = await plan.update("record_review_conference", {"date": f"{z}-02-15", "outcome": "continue"})
        assert result["next_due"] == f"{z}-08-15"
        await next_run(plan, first_run)
        assert (await plan.obligation("review-conference-2"))["due"] == f"{z}-08-15"
        # Ended at the second review: a child-in-need meeting within 10 working days (001 5.2).
        await plan.at(london(f"{z}-08-13", 16))
        ended = await plan.update("record_review_conference", {"date": f"{z}-08-13", "outcome": "end"})
        assert ended["cin_meeting_due"] == f"{z}-08-27"
        status = await plan.status()
        assert status["state"] == "ended"
        await plan.at(london(f"{z}-08-20", 12))
        await plan.update("record_completion", {"obligation_id": "cin-meeting-1", "date": f"{z}-08-20"})
        final = await plan.handle.result()
        assert final["state"] == "ended" and [
            o["status"] for o in final["obligations"] if o["kind"] == "cin-meeting"
        ] == ["met"]
        await assert_no_failed_workflow_task(plan.handle)


async def test_missing_child_not_found_reaches_the_senior_manager_then_found(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        plan = await start(
            env, tq, f"{z}-01-11", policy="darlington", senior_manager={"id": "cpm-1", "role": "senior-manager"}
        )
        await plan.at(london(f"{z}-01-20", 15))
        await plan.signal("report_missing", {"date": f"{z}-01-20"})
        await plan.told("alert", "sw-1", "child-found-1")
        await plan.at(london(f"{z}-01-21", 14, 30))
        plan.not_told("alert", "cpm-1", "child-found-1")
        await plan.at(london(f"{z}-01-21", 15, 30))
        await plan.told("alert", "cpm-1", "child-found-1")
        assert (await plan.status())["missing"] is True
        await plan.signal("report_found", {"date": f"{z}-01-21"})

        async def found():
            assert (await plan.status())["missing"] is False

        await eventually(found)
        await assert_no_failed_workflow_task(plan.handle)


async def test_death_tells_the_senior_manager_and_partnership_and_the_plan_ends(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        plan = await start(env, tq, f"{z}-01-11", policy="darlington")
        await plan.at(london(f"{z}-01-25", 10))
        await plan.signal("report_death", {"date": f"{z}-01-24"})
        await plan.told("alert", "sm-1")
        # 002 'Conference record': the initial conference's decisions and record are still owed.
        for ident in ("conference-decisions-1", "conference-record-1"):
            await plan.update("record_completion", {"obligation_id": ident, "date": f"{z}-01-25"})
        final = await plan.handle.result()
        assert final["state"] == "ended" and final["end_reason"] == "child died"
        await plan.told("alert", "sm-1")
        await plan.told("alert", "darlington-safeguarding-partnership")


async def test_two_no_access_visits_tell_the_manager_and_need_police_action(env, db_url):
    # ICPC Mon 11 Jan; two visits without access on Thu 14 Jan.
    z = await year_when(env, "Mon 11 Jan")
    async with running_worker(env) as tq:
        plan = await start(env, tq, f"{z}-01-11")
        await plan.at(london(f"{z}-01-14", 17))
        await plan.update("record_visit", {"date": f"{z}-01-14", "seen": False})
        await plan.update("record_visit", {"date": f"{z}-01-14", "seen": False, "again": True})
        await plan.told("alert", "tm-1", "police-action-1")
        await plan.told("alert", "hv-1", "police-action-1")
        assert (await plan.obligation("police-action-1"))["due"] == f"{z}-01-15"
        # No action recorded with the police: the team manager hears again on Mon 18 Jan.
        await plan.at(london(f"{z}-01-18", 9, 30))
        await plan.told("escalation", "tm-1", "police-action-1")


async def test_a_three_year_plan_with_fortnightly_visits_keeps_its_status_across_runs(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    # Only to choose working days for the visits: nothing expected is computed with it.
    cal = WorkingCalendar(non_working_days("ENG", z, z + 3))
    async with running_worker(env) as tq:
        plan = await start(env, tq, f"{z}-01-11", core_group=[{"id": "hv-1"}])
        day = date(z, 1, 11)
        end = date(z + 3, 1, 11)
        runs_checked = 0
        last_core_group = day
        while day < end:
            day += timedelta(days=14)
            visit_day = cal.on_or_after(day)
            await plan.at(london(visit_day, 16))
            await plan.update(
                "record_visit", {"date": visit_day.isoformat(), "seen": True, "seen_alone": True, "bedroom_seen": True}
            )
            if (visit_day - last_core_group).days >= 28:
                await plan.update("record_core_group", {"date": visit_day.isoformat()})
                await plan.update("record_notes_circulated", {"date": visit_day.isoformat()})
                await plan.update("record_signature", {"member_id": "hv-1", "date": visit_day.isoformat()})
                last_core_group = visit_day
            review = next(
                o
                for o in (await plan.status())["obligations"]
                if o["kind"] == "review-conference" and o["status"] == "pending"
            )
            if date.fromisoformat(review["due"]) <= visit_day + timedelta(days=14):
                old_run = (await plan.handle.describe()).run_id
                await plan.update("record_review_conference", {"date": visit_day.isoformat(), "outcome": "continue"})
                new_run = await next_run(plan, old_run)
                old = env.client.get_workflow_handle(plan.handle.id, run_id=old_run)
                before = await old.query("status", result_type=dict)
                after = await plan.status()
                assert after == before, "continue-as-new changed the plan's status"
                events = [e async for e in old.fetch_history_events()]
                assert len(events) < 4096
                assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                runs_checked += 1
                assert new_run
        assert runs_checked >= 5
        status = await plan.status()
        assert status["reviews_held"] == runs_checked
        assert not [
            o for o in status["obligations"] if o["kind"] == "visit" and o["status"] in ("overdue", "escalated")
        ]
        await assert_no_failed_workflow_task(plan.handle)
