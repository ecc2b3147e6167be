"""Every update refuses bad input through the real server: the message names the field and the
reason, and the plan's status is unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import (
    assert_no_failed_workflow_task,
    london,
    plan_doc,
    running_worker,
    skip_to,
    start_plan_workflow,
    year_when,
)
from tests.helpers.plan_scenario import Plan

# ICPC Mon 11 Jan; the plan is asked on Mon 18 Jan. "{y}" is the scenario's year, the first one
# ahead of the test server's clock whose 11 January is a Monday (so 25 Jan, the tenth working
# day, is a Monday too).
REFUSALS = [
    ("record_visit", {"date": "{y}-01-19", "seen": True}, "date: {y}-01-19 is in the future"),
    ("record_visit", {"date": "{y}-01-08", "seen": True}, "date: {y}-01-08 is before the plan started"),
    ("record_visit", {"date": "18/01/{y}", "seen": True}, "date: Input should be a valid date"),
    ("record_visit", {"date": "{y}-01-15", "seen": "yes please"}, "seen: Input should be a valid boolean"),
    (
        "record_visit",
        {"date": "{y}-01-15", "seen": True, "notes": "x" * 5000},
        "notes: Extra inputs are not permitted",
    ),
    (
        "set_visit_frequency",
        {"interval_working_days": 20, "by": "hv-1"},
        "by: 'hv-1' is not one of this plan's managers",
    ),
    (
        "record_core_group",
        {"date": "{y}-01-15", "next_date": "{y}-03-01"},
        "next_date: {y}-03-01 is past the limit {y}-02-26",
    ),
    ("record_notes_circulated", {"date": "{y}-01-15"}, "no core group notes are outstanding"),
    (
        "record_signature",
        {"member_id": "gp-404", "date": "{y}-01-15"},
        "member_id: 'gp-404' is not a member of this plan's core group",
    ),
    (
        "schedule_meeting",
        {"kind": "review_conference", "date": "{y}-04-12"},
        "date: {y}-04-12 is past the limit {y}-04-11",
    ),
    ("schedule_meeting", {"kind": "core_group", "date": "{y}-01-26"}, "date: {y}-01-26 is past the limit {y}-01-25"),
    (
        "record_review_conference",
        {"date": "{y}-01-15", "outcome": "end"},
        "by: ending the plan at the first review conference needs the manager",
    ),
    ("authorise_early_review", {"by": "tm-1", "review_date": "{y}-02-01"}, "no early review has been asked for"),
    ("decline_early_review", {"by": "sw-1"}, "by: 'sw-1' is not one of this plan's managers"),
    (
        "change_lead_social_worker",
        {"person": {"id": "sw-2", "email": "sw-2@example.org"}, "cover_until": "{y}-01-01", "by": "tm-1"},
        "cover_until: {y}-01-01 is in the past",
    ),
    ("record_completion", {"obligation_id": "visit-1", "date": "{y}-01-15"}, "recorded with its own message"),
]


def in_year(value: Any, y: int) -> Any:
    """`value` with "{y}" in its strings replaced by the scenario's year."""
    if isinstance(value, str):
        return value.replace("{y}", str(y))
    if isinstance(value, dict):
        return {k: in_year(v, y) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("name", "payload", "reason"), REFUSALS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REFUSALS)]
)
async def test_bad_updates_are_refused_with_the_field_and_change_nothing(env, db_url, name, payload, reason):
    y = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{y}-01-11", 11))
    async with running_worker(env) as tq:
        doc = plan_doc(icpc_date=f"{y}-01-11")
        plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
        await plan.started()
        await plan.at(london(f"{y}-01-18", 11))
        message = await plan.refused(name, in_year(payload, y))
        assert in_year(reason, y) in message
        await assert_no_failed_workflow_task(plan.handle)


async def test_an_invalid_start_fails_with_every_bad_field_named(env, db_url):
    from temporalio.client import WorkflowFailureError

    y = await year_when(env, "Mon 11 Jan")
    await skip_to(env, london(f"{y}-01-11", 11))
    async with running_worker(env) as tq:
        doc = plan_doc(icpc_date=f"{y}-01-11", category="unknown", team_manager={"id": "x y"})
        handle = await start_plan_workflow(env.client, doc, task_queue=tq)
        with pytest.raises(WorkflowFailureError) as err:
            await handle.result()
        message = str(err.value.cause)
        assert "category" in message and "team_manager.id" in message


async def test_starting_the_same_plan_twice_returns_the_existing_plan(env, db_url, monkeypatch):
    from starters.cases import start_plan
    from workflows.calendar import local_date

    today = local_date(await env.get_current_time())
    doc = plan_doc(icpc_date=today.isoformat())
    async with running_worker(env) as tq:
        monkeypatch.setenv("CPPLAN_TASK_QUEUE", tq)
        first = await start_plan(env.client, doc)
        second = await start_plan(env.client, doc)
        assert first[0] == second[0] == f"cp-plan-{doc['plan_id']}"
        assert first[1] is True and second[1] is False
        handle = env.client.get_workflow_handle(first[0])
        assert (await handle.describe()).run_id == (await env.client.get_workflow_handle(second[0]).describe()).run_id
