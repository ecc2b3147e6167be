"""The procedures' remaining rules on the time-skipping server, one scenario each. Dates are
computed from the server's clock (never fixed calendar dates) and the profile's own calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.client import WorkflowExecutionStatus

from activities.read_model import list_outbox
from tests.helpers import (
    assert_no_failed_workflow_task,
    eventually,
    london,
    plan_doc,
    running_worker,
    skip_to,
    start_plan_workflow,
)
from tests.helpers.plan_scenario import Plan
from workflows.calendar import LONDON, WorkingCalendar, add_months, non_working_days
from workflows.policy import get_profile

CHAIR = {"id": "ch-1", "role": "chair"}


def calendar(policy: str, around: date) -> WorkingCalendar:
    profile = get_profile(policy)
    return WorkingCalendar(non_working_days(profile.region, around.year - 1, around.year + 3, profile.closure_days))


async def server_today(env) -> date:
    return (await env.get_current_time()).astimezone(LONDON).date()


async def a_working_monday(env, policy: str, weeks_ahead: int = 2) -> date:
    """A Monday that is a working day, some weeks after the server's today."""
    day = await server_today(env) + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(7 - day.weekday()) % 7)
    cal = calendar(policy, day)
    while not cal.is_working_day(day):
        day += timedelta(days=7)
    return day


async def start(env, tq, policy: str, icpc: date, **overrides) -> Plan:
    await skip_to(env, london(icpc, 11), late_ok=timedelta(hours=1))  # a second plan on the same day
    doc = plan_doc(icpc_date=icpc.isoformat(), policy=policy, **overrides)
    plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    return plan


async def still_running(plan: Plan) -> None:
    assert (await plan.handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_conference_administration_outlives_a_plan_ended_at_review(env, db_url):
    """002 'Conference record': decisions within 2 and the record within 20 working days of every
    conference, a review that ends the plan included; the workflow stays open until they are met."""
    icpc = await a_working_monday(env, "darlington")
    cal = calendar("darlington", icpc)
    review = cal.on_or_after(icpc + timedelta(days=30))
    async with running_worker(env) as tq:
        plan = await start(env, tq, "darlington", icpc)
        await plan.at(london(review, 16))
        await plan.update(
            "record_review_conference",
            {"date": review.isoformat(), "outcome": "end", "exceptional_reason": "perpetrator-custody", "by": "tm-1"},
        )
        status = await plan.status()
        assert status["state"] == "ended"
        owed = ["conference-decisions-1", "conference-record-1", "conference-decisions-2", "conference-record-2"]
        assert [o["id"] for o in status["obligations"] if "met_on" not in o and o["id"] in owed] == owed
        assert (await plan.obligation("conference-record-2"))["due"] == cal.add_working_days(review, 20).isoformat()
        await still_running(plan)
        for ident in owed:
            await plan.update("record_completion", {"obligation_id": ident, "date": review.isoformat()})
        final = await plan.handle.result()
        assert final["state"] == "ended" and final["end_reason"] == "ended at review conference"
        await assert_no_failed_workflow_task(plan.handle)


async def test_in_darlington_only_the_lead_social_workers_visit_restarts_the_clock(env, db_url):
    """002 'Lead Social Worker Role': seen at least every 10 working days by the Lead Social Worker."""
    icpc = await a_working_monday(env, "darlington")
    cal = calendar("darlington", icpc)
    visit = cal.add_working_days(icpc, 3)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "darlington", icpc)
        await plan.at(london(visit, 17))
        by_health_visitor = await plan.update("record_visit", {"date": visit.isoformat(), "seen": True, "by": "hv-1"})
        assert by_health_visitor["statutory"] is False
        assert "is not one of this plan's people" in await plan.refused(
            "record_visit", {"date": visit.isoformat(), "seen": True, "by": "xx-9"}
        )
        by_lead = await plan.update(
            "record_visit", {"date": visit.isoformat(), "seen": True, "by": "sw-1", "again": True}
        )
        assert by_lead["statutory"] is True
        assert by_lead["next_due"] == cal.add_working_days(visit, 10).isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_ending_at_the_first_review_is_each_profiles_own_rule(env, db_url):
    """004 'Role of the Social Worker': de-listing at 3 months is discussed with the chair (an
    ordinary decision); 002: not at the first review except in exceptional circumstances."""
    icpc = await a_working_monday(env, "birmingham")
    review = calendar("birmingham", icpc).on_or_after(icpc + timedelta(days=30))
    async with running_worker(env) as tq:
        darlington = await start(env, tq, "darlington", icpc, chair=CHAIR)
        birmingham = await start(env, tq, "birmingham", icpc, chair=CHAIR)
        await birmingham.at(london(review, 16))
        refusal = await darlington.refused(
            "record_review_conference", {"date": review.isoformat(), "outcome": "end", "by": "tm-1"}
        )
        assert "exceptional circumstances" in refusal and "002 " in refusal and "004 " not in refusal
        ended = await birmingham.update(
            "record_review_conference",
            {"date": review.isoformat(), "outcome": "end", "by": "ch-1", "step_down_not_needed": "moved-authority"},
        )
        assert ended["outcome"] == "end" and (await birmingham.status())["state"] == "ended"
        await assert_no_failed_workflow_task(birmingham.handle)


async def test_a_plan_transferred_out_stays_until_the_receiving_authoritys_conference(env, db_url):
    """002 'Transfer Child Protection Conference': the plan rests with this authority until the
    transfer conference is held; the lead social worker's report at least 5 working days before."""
    icpc = await a_working_monday(env, "darlington")
    cal = calendar("darlington", icpc)
    review = cal.on_or_after(icpc + timedelta(days=30))
    transfer = cal.add_working_days(review, 12)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "darlington", icpc)
        await plan.at(london(review, 16))
        assert "receiving_authority" in await plan.refused(
            "record_review_conference", {"date": review.isoformat(), "outcome": "transfer-out"}
        )
        result = await plan.update(
            "record_review_conference",
            {
                "date": review.isoformat(),
                "outcome": "transfer-out",
                "receiving_authority": "la-815",
                "transfer_conference_date": transfer.isoformat(),
            },
        )
        assert result["report_due"] == cal.add_working_days(transfer, -5).isoformat()
        assert (await plan.status())["state"] == "active"
        await plan.told("alert", "sw-1")
        await plan.at(london(transfer, 17))
        done = await plan.update(
            "record_completion", {"obligation_id": "transfer-conference-1", "date": transfer.isoformat()}
        )
        assert done["state"] == "ended"
        status = await plan.status()
        assert status["end_reason"] == "transferred out (receiving authority la-815)"
        assert any(o["id"] == "conference-record-2" and "met_on" not in o for o in status["obligations"])
        await still_running(plan)
        await assert_no_failed_workflow_task(plan.handle)


async def test_birmingham_ends_without_a_child_in_need_plan_with_a_rationale_and_supervision(env, db_url):
    """004 'Core Groups': a CIN plan assessed as not necessary: a recorded rationale and a
    supervision discussion between the Team Manager and the Head of Service."""
    icpc = await a_working_monday(env, "birmingham")
    cal = calendar("birmingham", icpc)
    review = cal.on_or_after(icpc + timedelta(days=30))
    async with running_worker(env) as tq:
        plan = await start(env, tq, "birmingham", icpc)
        await plan.at(london(review, 16))
        ending = {"date": review.isoformat(), "outcome": "end", "by": "tm-1"}
        ending["step_down_not_needed"] = "assessed-not-necessary"
        assert "rationale" in await plan.refused("record_review_conference", ending)
        result = await plan.update("record_review_conference", {**ending, "rationale_ref": "rat-31"})
        assert result["supervision_due"] == cal.add_working_days(review, 10).isoformat()
        await plan.told("alert", "sm-1", "step-down-supervision-1")
        await still_running(plan)
        await plan.update("record_completion", {"obligation_id": "step-down-supervision-1", "date": review.isoformat()})
        assert (await plan.handle.result())["state"] == "ended"
        await assert_no_failed_workflow_task(plan.handle)


async def test_birmingham_core_group_before_the_review_moves_with_an_early_review(env, db_url):
    """004 'Core Groups': the core group, before the Review Conference, discusses the
    recommendation; brought forward with the review."""
    icpc = await a_working_monday(env, "birmingham")
    cal = calendar("birmingham", icpc)
    first_review = add_months(icpc, 3)
    early = cal.on_or_after(icpc + timedelta(days=35))
    async with running_worker(env) as tq:
        plan = await start(env, tq, "birmingham", icpc)
        due = (await plan.obligation("pre-review-core-group-1"))["due"]
        assert due == cal.add_working_days(first_review, -1).isoformat()
        incident_day = cal.add_working_days(icpc, 5)
        await plan.at(london(incident_day, 11))
        await plan.signal("report_incident", {"kind": "new-incident", "date": incident_day.isoformat()})
        await plan.told("alert", "tm-1", "early-review-decision-1")
        await plan.update("authorise_early_review", {"by": "tm-1", "review_date": early.isoformat()})
        moved = await plan.obligation("pre-review-core-group-1")
        assert moved["due"] == cal.add_working_days(early, -1).isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_plan_that_cannot_be_implemented_goes_to_the_chair_and_a_review_is_convened(env, db_url):
    """001 6.4.3: brought to the Review Conference Chair as a matter of urgency and a Review
    Conference convened."""
    icpc = await a_working_monday(env, "isle-of-man")
    cal = calendar("isle-of-man", icpc)
    reported = cal.add_working_days(icpc, 5)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "isle-of-man", icpc, chair=CHAIR)
        await plan.at(london(reported, 11))
        await plan.signal("report_incident", {"kind": "implementation-difficulty", "date": reported.isoformat()})
        await plan.told("alert", "ch-1", "early-review-decision-1")
        assert "is not declined" in await plan.refused("decline_early_review", {"by": "tm-1"})
        convened = cal.add_working_days(reported, 10)
        await plan.update("authorise_early_review", {"by": "tm-1", "review_date": convened.isoformat()})
        assert (await plan.obligation("review-conference-1"))["due"] == convened.isoformat()
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_pre_birth_plans_first_core_group_is_on_a_working_day_before_the_birth(env, db_url):
    """002 'Unborn Child Protection Conference': the core group meets before the birth."""
    icpc = await a_working_monday(env, "darlington")
    cal = calendar("darlington", icpc)
    birth = icpc + timedelta(days=7)  # the next Monday
    async with running_worker(env) as tq:
        plan = await start(
            env, tq, "darlington", icpc, conference_kind="pre-birth", expected_birth_date=birth.isoformat()
        )
        due = date.fromisoformat((await plan.obligation("first-core-group"))["due"])
        assert due == cal.add_working_days(birth, -1) and cal.is_working_day(due) and due < birth
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_review_limit_on_a_weekend_is_held_by_the_working_day_before(env, db_url):
    """procedures.md 'Due dates on non-working days': reminders count back from the hold-by day;
    escalation comes the first working day after the statutory limit."""
    cal = calendar("london", await server_today(env))
    icpc = await a_working_monday(env, "london")
    while cal.is_working_day(add_months(icpc, 3)) or not cal.is_working_day(icpc):
        icpc += timedelta(days=1)
    limit = add_months(icpc, 3)
    held = cal.add_working_days(limit, -1)
    async with running_worker(env) as tq:
        plan = await start(env, tq, "london", icpc)
        review = await plan.obligation("review-conference-1")
        assert (review["due"], review["hold_by"]) == (limit.isoformat(), held.isoformat())
        await plan.at(london(cal.add_working_days(held, -2), 9, 30))
        await plan.told("reminder", "sw-1", "review-conference-1")
        rows = list_outbox(plan.plan_id, include_content=True)
        subjects = [
            r["subject"] for r in rows if r["kind"] == "reminder" and r["obligation_id"] == "review-conference-1"
        ]
        assert subjects and f"hold by {held.isoformat()}" in subjects[0]
        await plan.at(london(cal.add_working_days(limit, 1), 9, 30))
        await plan.told("escalation", "tm-1", "review-conference-1")

        async def not_before_the_limit() -> None:
            escalations = [
                e for e in (await plan.status())["escalations"] if e["obligation_id"] == "review-conference-1"
            ]
            first = datetime.fromisoformat(escalations[0]["at"]) if escalations else None
            assert first is not None and first >= london(cal.add_working_days(limit, 1), 9)

        await eventually(not_before_the_limit)
        await assert_no_failed_workflow_task(plan.handle)
