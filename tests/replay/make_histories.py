"""Record the histories the replay tests keep: plans that used every message kind.

Run after a deliberate change of what histories look like (a new release's workflow code that
is *meant* to differ, shipped behind `workflow.patched`), never to make a failing replay pass.
The new histories are added to those of earlier releases (01-03: before `lean-history`;
04-06: with it; 07-09: with `honest-records` and `procedures-2`; 10-12: with `context-in-start`;
13-15: with `bounded-unreadable`; 16-18: with `entitled-senders`; 19-21: with `procedures-3`,
`dates-1900-2100`, payloads bound to their place and `record_delivery_failure`):

    .venv/bin/python -m tests.replay.make_histories

Payloads are encrypted with the test-only key in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

HERE = Path(__file__).parent / "histories"


async def scenario_year(env: WorkflowEnvironment) -> int:
    """Both scenarios' year: the first ahead of the server's clock whose 11 January is a Monday
    and which has 365 days, so 9 August is a Monday too (as in the histories recorded in 2026)."""
    from tests.helpers import isleap, year_when

    return await year_when(env, "Mon 11 Jan", also=lambda year: not isleap(year))


async def _everything(env: WorkflowEnvironment, tq: str) -> list[WorkflowHandle[Any, Any]]:
    from tests.helpers import london, plan_doc, skip_to, start_plan_with_context
    from tests.helpers.plan_scenario import Plan

    y = await scenario_year(env)
    await skip_to(env, london(f"{y}-01-11", 11))
    doc = plan_doc(
        icpc_date=f"{y}-01-11",
        plan_id="replay-every-message",
        child_ref="c-replay-1",
        senior_manager={"id": "cpm-1", "role": "senior-manager"},
    )
    # Started as `cpplan start` starts a plan, its context sent along (the other scenario is
    # started without it, as a case system starting the workflow directly might).
    plan = Plan(env, await start_plan_with_context(env, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    await plan.at(london(f"{y}-01-13", 15))
    await plan.update(
        "record_visit", {"date": f"{y}-01-13", "seen": True, "seen_alone": False, "parents_refused_seen_alone": True}
    )
    await plan.update("set_visit_frequency", {"interval_working_days": 8, "by": "tm-1", "reason_ref": "sup-1"})
    await plan.update("schedule_meeting", {"kind": "core_group", "date": f"{y}-01-20"})
    await plan.at(london(f"{y}-01-20", 15))
    await plan.update("record_core_group", {"date": f"{y}-01-20"})
    await plan.update("record_notes_circulated", {"date": f"{y}-01-20"})
    await plan.update("record_signature", {"member_id": "hv-1", "date": f"{y}-01-20"})
    try:
        await plan.update("record_signature", {"member_id": "nobody", "date": f"{y}-01-20"})
    except WorkflowUpdateFailedError:
        pass
    await plan.at(london(f"{y}-01-21", 15))
    await plan.update("record_visit", {"date": f"{y}-01-21", "seen": False})
    await plan.update("record_visit", {"date": f"{y}-01-21", "seen": False, "again": True})
    await plan.update("record_completion", {"obligation_id": "police-action-1", "date": f"{y}-01-21"})
    await plan.signal("report_incident", {"kind": "new-incident", "date": f"{y}-01-21", "summary_ref": "s47-1"})
    await plan.at(london(f"{y}-01-22", 10))
    await plan.update("decline_early_review", {"by": "sm-1"})
    # A plan that cannot be implemented convenes a review: a manager sets its date (001 6.4.3).
    await plan.signal("report_incident", {"kind": "implementation-difficulty", "date": f"{y}-01-22"})
    await plan.at(london(f"{y}-01-22", 12))
    await plan.update("authorise_early_review", {"by": "tm-1", "review_date": f"{y}-02-12"})
    await plan.signal("escalate", {"by": "tm-1", "to": "hos-1", "reason_ref": "sup-2"})
    await plan.signal("report_missing", {"date": f"{y}-01-25"})
    # The missing child's alert was not delivered (GOV.UK Notify's receipt): the team manager told.
    await plan.signal(
        "record_delivery_failure",
        {
            "key": "replay-every-message:missing-1:sw-1",
            "to": "sw-1",
            "status": "permanent-failure",
            "date": f"{y}-01-25",
        },
    )
    await plan.at(london(f"{y}-01-26", 15))
    await plan.signal("report_found", {"date": f"{y}-01-26"})
    # A client looping on a bad report: kept one by one up to the day's bound, then counted.
    from workflows.case import UNREADABLE_KEPT_A_DAY

    for _ in range(UNREADABLE_KEPT_A_DAY + 3):
        await plan.signal("report_death", {"date": "2999-01-01"})
    await plan.update(
        "change_lead_social_worker",
        {"person": {"id": "sw-2", "email": "sw-2@example.org"}, "cover_until": f"{y}-02-05", "by": "tm-1"},
    )
    await plan.update("schedule_meeting", {"kind": "review_conference", "date": f"{y}-02-10", "by": "tm-1"})
    await plan.at(london(f"{y}-02-10", 16))
    first = (await plan.handle.describe()).run_id
    await plan.update("record_review_conference", {"date": f"{y}-02-10", "outcome": "continue", "scores": [3, 4, 6]})
    while (await plan.handle.describe()).run_id == first:
        await asyncio.sleep(0.1)
    await plan.at(london(f"{y}-08-06", 16))
    await plan.update("record_review_conference", {"date": f"{y}-08-06", "outcome": "inquorate"})
    await plan.at(london(f"{y}-08-07", 10))
    await plan.signal("report_death", {"date": f"{y}-08-07"})
    # Reported in error: put right by the plan's service manager; then the real ending, final
    # after 30 days.
    await plan.at(london(f"{y}-08-09", 10))
    await plan.update("reopen_plan", {"by": "sm-1", "reason_ref": "err-1"})
    await plan.signal("report_missing", {"date": f"{y}-08-09", "by": "par-1"})  # not entitled: unreadable
    await plan.at(london(f"{y}-08-10", 10))
    await plan.signal("report_death", {"date": f"{y}-08-10", "by": "sw-1"})
    await plan.handle.result()
    return [env.client.get_workflow_handle(plan.handle.id, run_id=first), plan.handle]


async def _step_down(env: WorkflowEnvironment, tq: str) -> list[WorkflowHandle[Any, Any]]:
    from tests.helpers import london, plan_doc, start_plan_workflow
    from tests.helpers.plan_scenario import Plan

    y = await scenario_year(env)
    doc = plan_doc(icpc_date=f"{y}-08-09", plan_id="replay-step-down", child_ref="c-replay-2", policy="isle-of-man")
    await env.sleep(london(f"{y}-08-09", 11) - await env.get_current_time())
    plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    await plan.at(london(f"{y}-08-12", 16))
    await plan.update(
        "record_review_conference",
        {"date": f"{y}-08-12", "outcome": "end", "exceptional_reason": "perpetrator-custody", "by": "tm-1"},
    )
    await plan.at(london(f"{y}-08-20", 12))
    await plan.update("record_completion", {"obligation_id": "cin-meeting-1", "date": f"{y}-08-20"})
    await plan.handle.result()
    return [plan.handle]


async def main() -> None:
    from tests.conftest import TEST_CODEC_KEYS
    from tests.helpers import TEST_SERVER, running_worker

    os.environ["CPPLAN_CODEC_KEYS"] = TEST_CODEC_KEYS
    os.environ["CPPLAN_DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/replay.db"
    os.environ.pop("CPPLAN_SMTP_URL", None)
    from worker.client import sealing_options

    # Each scenario on a server of its own: both need the clock before their conference date,
    # and waiting for a plan's result lets the test server skip time past it.
    for scenario in (_everything, _step_down):
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=TEST_SERVER, **sealing_options())
        async with env, running_worker(env) as tq:
            await _record(env, await scenario(env, tq))


async def _record(env: WorkflowEnvironment, handles: list[WorkflowHandle[Any, Any]]) -> None:
    """Added after the histories of earlier releases, which stay: plans those releases started
    may still be running, so today's code must go on replaying them."""
    HERE.mkdir(exist_ok=True)
    first = 1 + max((int(p.name.split("-", 1)[0]) for p in HERE.glob("*.json")), default=0)
    for n, handle in enumerate(handles, first):
        history = await handle.fetch_history()
        path = HERE / f"{n:02d}-{handle.id}.json"
        path.write_text(history.to_json())
        print(path, len(history.events), "events")


if __name__ == "__main__":
    asyncio.run(main())
