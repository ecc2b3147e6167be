"""Saved histories of real plans replay against today's workflow code.

A change to `workflows/plan.py` (or the engine it drives) that would break plans already
running fails here first. Ship such changes behind `workflow.patched(...)` (README, "Changing
workflow code"); re-record the histories only for a deliberate, patched change.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import workflows
from activities import ALL_ACTIVITIES
from activities.plan_context import load_plan_context
from tests.helpers import plan_doc, running_worker
from tests.replay.changed_plan import PlanChangedWithoutAPatch, SamePlanAsASubclass
from worker.client import worker_data_converter
from worker.main import sandbox_runner
from workflows.activity_io import LOAD_PLAN_CONTEXT, PlanContext, PlanContextRequest
from workflows.calendar import non_working_days
from workflows.messages import PLAN_MESSAGES
from workflows.plan import (
    BOUNDED_UNREADABLE_PATCH,
    CONTEXT_IN_START_PATCH,
    END_NEEDS_MANAGER_PATCH,
    OVERDUE_WAKE_PATCH,
    STRICT_INPUT_PATCH,
    ChildProtectionPlan,
)
from workflows.runtime import KEEP_WAKE_PATCH, LEAN_HISTORY_PATCH

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem.split("-", 1)[1], path.read_text())


def replayer(*workflows: type) -> Replayer:
    return Replayer(
        workflows=list(workflows) or [ChildProtectionPlan],
        workflow_runner=sandbox_runner(),
        data_converter=worker_data_converter(),
    )


def test_the_saved_histories_cover_every_message_kind():
    text = "".join(p.read_text() for p in HISTORIES)
    for spec in PLAN_MESSAGES:  # every message declared, so a new one needs a history
        assert f'"{spec.name}"' in text, f"no saved history uses {spec.name}"
    assert "WORKFLOW_EXECUTION_CONTINUED_AS_NEW" in text


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path):
    result = await replayer().replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_bank_holiday_added_by_a_holidays_release_does_not_break_a_running_plan(monkeypatch):
    # A new release of `holidays` declares Tue 19 Jan 2027 a bank holiday.
    extra = date(2027, 1, 19)
    original = holidays.country_holidays

    def with_new_holiday(*args, **kwargs):
        found = original(*args, **kwargs)
        found[extra] = "New bank holiday"
        return found

    monkeypatch.setattr(holidays, "country_holidays", with_new_holiday)
    assert extra in non_working_days("ENG", 2027, 2027), "the new calendar has the new holiday"
    # The running plan loaded its calendar through an activity, so the history holds it: the
    # replay does not consult the new release and its timers stay where they were.
    for path in HISTORIES:
        result = await replayer().replay_workflow(load(path))
        assert result.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_the_plan_changed_without_a_patch_fails_to_replay(path: Path):
    assert (await replayer(SamePlanAsASubclass).replay_workflow(load(path))).replay_failure is None
    with pytest.raises(workflow.NondeterminismError, match="[Nn]ondeterminism"):
        await replayer(PlanChangedWithoutAPatch).replay_workflow(load(path))


async def test_the_patch_is_what_keeps_an_older_plan_replaying(monkeypatch):
    # The step-down plan ended at its first review before a manager's `by` was required. With
    # the new rule applied unconditionally (no patch), its accepted update would now be refused.
    step_down = next(p for p in HISTORIES if "step-down" in p.stem)
    assert (await replayer().replay_workflow(load(step_down))).replay_failure is None
    original = workflow.patched
    monkeypatch.setattr(
        workflow, "patched", lambda patch_id: True if patch_id == END_NEEDS_MANAGER_PATCH else original(patch_id)
    )
    with pytest.raises(Exception, match="[Nn]ondeterminism|needs the manager|does not match"):
        await replayer().replay_workflow(load(step_down))


@activity.defn(name=LOAD_PLAN_CONTEXT)
async def slow_load_plan_context(req: PlanContextRequest) -> PlanContext:
    """A database slow to answer: longer than the plan's first workflow task may take."""
    await asyncio.sleep(1.5)
    return await load_plan_context(req)


async def test_a_plan_whose_profile_loads_slower_than_its_workflow_task_still_replays(env):
    # The profile is loaded by a local activity inside the first workflow task. Given a 1 s task
    # timeout and a 1.5 s load, the SDK completes the task early to keep it alive, and what the
    # run does after the load lands in a later task. The replay must still match it command for
    # command (workflows/plan.py asks its patch before the load for that reason).
    activities = [a for a in ALL_ACTIVITIES if getattr(a, "__temporal_activity_definition").name != LOAD_PLAN_CONTEXT]
    async with running_worker(env, activities=[*activities, slow_load_plan_context]) as tq:
        doc = plan_doc(icpc_date=(await env.get_current_time()).date().isoformat())
        handle = await env.client.start_workflow(
            workflows.WORKFLOW_TYPE,
            doc,
            id=workflows.workflow_id(doc["plan_id"]),
            task_queue=tq,
            task_timeout=timedelta(seconds=1),
        )
        for _ in range(100):
            history = await handle.fetch_history()
            if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
                break
            await asyncio.sleep(0.1)
    tasks = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    assert len(tasks) >= 2, "the first turn was meant to span two workflow tasks"
    assert any(LEAN_HISTORY_PATCH.encode() in marker for marker in patch_markers(history))
    assert (await replayer().replay_workflow(history)).replay_failure is None


def patch_markers(history: WorkflowHistory) -> list[bytes]:
    return [
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


def test_a_lean_run_records_no_older_patch_marker_and_no_activity_for_context_or_read_model():
    histories = {p.name: load(p) for p in HISTORIES}
    lean = {name: h for name, h in histories.items() if any(LEAN_HISTORY_PATCH.encode() in m for m in patch_markers(h))}
    assert len(lean) == 18, "the histories recorded since lean-history (04-21)"
    implied = [p.encode() for p in (OVERDUE_WAKE_PATCH, END_NEEDS_MANAGER_PATCH, STRICT_INPUT_PATCH, KEEP_WAKE_PATCH)]
    for name, history in lean.items():
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert not {"load_plan_context", "save_plan"} & set(scheduled), name
        assert not [m for m in patch_markers(history) for p in implied if p in m], name
    # And they are much shorter than the same plans' histories before it (those recorded since
    # bounded-unreadable tell a longer story: a client looping on a bad report).
    before = [len(h.events) for n, h in histories.items() if n not in lean]
    same_story = [
        len(h.events)
        for h in lean.values()
        if not any(BOUNDED_UNREADABLE_PATCH.encode() in m for m in patch_markers(h))
    ]
    assert len(same_story) == 9
    assert sum(same_story) / len(same_story) < sum(before) / len(before) / 2


def local_activities(history: WorkflowHistory) -> list[str]:
    return [
        json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)["activity_type"]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]


def test_plans_with_context_in_start_load_it_only_when_not_given():
    histories = {p.name: load(p) for p in HISTORIES}
    carrying = {
        n: h for n, h in histories.items() if any(CONTEXT_IN_START_PATCH.encode() in m for m in patch_markers(h))
    }
    assert sorted(n[:2] for n in carrying) == [
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
        "21",
    ], "the histories recorded since context-in-start"
    for name, history in carrying.items():
        inputs = history.events[0].workflow_execution_started_event_attributes.input.payloads
        if "every-message" in name and len(inputs) == 3:
            # Started with its context (as `cpplan start` starts a plan): the first run loads none.
            assert "load_plan_context" not in local_activities(history), name
        elif "every-message" in name:
            # The run after its review conference: continued without it, it loads the profile afresh.
            assert len(inputs) == 2, name
            assert local_activities(history).count("load_plan_context") == 1, name
        else:
            # Started without it (a case system starting the workflow directly): loaded once.
            assert len(inputs) == 1, name
            assert local_activities(history).count("load_plan_context") == 1, name
