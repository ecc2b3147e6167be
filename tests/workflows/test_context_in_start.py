"""A plan's profile and calendar sent with its start (as `starters.cases.start_plan` sends them)
and carried across continue-as-new: its runs do not load them by the activity; a plan started
without them (a case system starting the workflow directly) loads them as before."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

import workflows
from activities.plan_context import plan_context
from starters.cases import start_context
from tests.helpers import (
    assert_no_failed_workflow_task,
    eventually,
    london,
    plan_doc,
    running_worker,
    skip_to,
    start_plan_with_context,
    start_plan_workflow,
    year_when,
)
from tests.helpers.plan_scenario import Plan
from workflows import models as m
from workflows.activity_io import PlanContextRequest
from workflows.given_context import MIN_YEARS_AHEAD, usable_context
from workflows.plan import CALENDAR_YEARS_AHEAD, CONTEXT_IN_START_PATCH


async def _markers(client: Client, handle: WorkflowHandle[Any, Any], run_id: str) -> list[str]:
    """The run's markers: a patch's id, or a local activity's type (their details go through
    the client's codec, like any payload)."""
    history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
    found: list[str] = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attrs = event.marker_recorded_event_attributes
        for key, payloads in attrs.details.items():
            for value in await client.data_converter.decode(payloads.payloads):
                if key == "patch-data" and isinstance(value, dict):
                    found.append(value.get("id", ""))
                elif key == "data" and isinstance(value, dict):
                    found.append(value.get("activity_type", ""))
    return found


async def _run_inputs(client: Client, handle: WorkflowHandle[Any, Any], run_id: str) -> int:
    history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
    return len(history.events[0].workflow_execution_started_event_attributes.input.payloads)


async def _loaded(client: Client, handle: WorkflowHandle[Any, Any]) -> bool:
    markers = await _markers(client, handle, (await handle.describe()).run_id)
    assert "load_plan_context" in markers, markers
    return True


async def test_context_with_the_start_is_used_and_the_next_run_loads_the_profile_afresh(env, db_url):
    """The first run uses the profile and calendar that came with the start; the run after a
    review conference loads them again, so an authority's profile edit reaches the plan then."""
    z = await year_when(env, "Mon 11 Jan")
    icpc = f"{z}-01-11"
    await skip_to(env, london(icpc, 11))
    doc = plan_doc(icpc_date=icpc)
    async with running_worker(env) as tq:
        handle = await start_plan_with_context(env, doc, task_queue=tq)
        plan = Plan(env, handle, doc["plan_id"])
        await plan.started()
        first_run = (await handle.describe()).run_id

        review = await plan.obligation("review-conference-1")
        await plan.at(london(review["due"], 16))
        await plan.update("record_review_conference", {"date": review["due"], "outcome": "continue"})

        async def next_run() -> str:
            current = (await handle.describe()).run_id
            assert current != first_run
            return current

        second_run = await eventually(next_run)
        await plan.obligation("review-conference-2")
        assert await _run_inputs(env.client, handle, second_run) == 2  # start, carried state
        first = await _markers(env.client, handle, first_run)
        assert CONTEXT_IN_START_PATCH in first and "save_plan" in first
        assert "load_plan_context" not in first
        second = await _markers(env.client, handle, second_run)
        assert "save_plan" in second and "load_plan_context" in second
        await assert_no_failed_workflow_task(handle)


async def test_a_start_without_the_context_loads_it(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    icpc = f"{z}-01-11"
    await skip_to(env, london(icpc, 11))
    doc = plan_doc(icpc_date=icpc)
    async with running_worker(env) as tq:
        handle = await start_plan_workflow(env.client, doc, task_queue=tq)
        plan = Plan(env, handle, doc["plan_id"])
        await plan.started()
        loaded = await eventually(lambda: _loaded(env.client, handle))
        assert loaded
        await assert_no_failed_workflow_task(handle)


async def test_a_context_for_another_profile_or_too_short_is_not_used(env, db_url):
    z = await year_when(env, "Mon 11 Jan")
    icpc = f"{z}-01-11"
    await skip_to(env, london(icpc, 11))
    doc = plan_doc(icpc_date=icpc)
    other = "isle-of-man" if doc["policy"] != "isle-of-man" else "london"
    wrong = plan_context(PlanContextRequest(policy=other, first_year=z - 1, last_year=z + CALENDAR_YEARS_AHEAD))
    async with running_worker(env) as tq:
        handle = await env.client.start_workflow(
            workflows.WORKFLOW_TYPE,
            args=[doc, None, wrong.model_dump(mode="json")],
            id=workflows.workflow_id(doc["plan_id"]),
            task_queue=tq,
        )
        plan = Plan(env, handle, doc["plan_id"])
        await plan.started()
        loaded = await eventually(lambda: _loaded(env.client, handle))
        assert loaded
        assert (await plan.status())["policy"] == doc["policy"]
        await assert_no_failed_workflow_task(handle)


def test_usable_context_checks_profile_years_and_shape():
    year = date.today().year
    context = plan_context(PlanContextRequest(policy="london", first_year=year - 1, last_year=year + 4))
    assert usable_context(context.model_dump(mode="json"), "london", year - 1, year) == context
    assert usable_context(context, "isle-of-man", year - 1, year) is None
    assert usable_context(context, "london", year - 2, year) is None  # starts too late
    assert usable_context(context, "london", year - 1, year + 5 - MIN_YEARS_AHEAD) is None  # runs short
    assert usable_context({"profile": "london"}, "london", year - 1, year) is None
    assert usable_context(None, "london", year - 1, year) is None


def test_start_context_is_what_the_activity_loads():
    start = m.parse(m.PlanStart, plan_doc(icpc_date=date.today() - timedelta(days=3)))
    context = start_context(start)
    assert context is not None
    assert usable_context(context, start.policy, start.icpc_date.year - 1, date.today().year) == context
