"""`cpplan status` and `cpplan doctor`: what the plan says about itself, beside what the server
says about its workflow, so a plan that has stopped is never mistaken for a quiet one.

Exit status of `cpplan status P`: 0 the plan's workflow runs and answered (or ended normally);
3 it is not running (terminated, failed, timed out, cancelled), keeps failing its workflow task,
or no worker answered its status query; 1 any other failure (an unknown plan, no server).
`cpplan doctor`: 0 no plan in trouble, 1 some (one line each), as the watchdog would find them;
also each webhook endpoint with events given up (1) or being retried (said, 0 by itself), from the
events outbox (activities/event_outbox.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client

from activities.db import get_engine
from activities.event_outbox import endpoint_trouble
from activities.plan_health import TASK_FAILING, Execution, check_plans
from starters import cases, render

NOT_RUNNING_EXIT = 3
TROUBLE_EXIT = 1


def _when(execution: Execution) -> str:
    return execution.since.strftime("%Y-%m-%d %H:%M UTC") if execution.since else "an unknown time"


def execution_line(execution: Execution, answered: bool) -> tuple[str, bool]:
    """One line on the workflow's execution, and whether the plan is in trouble."""
    if execution.task_failing:
        return (
            f"workflow  running, but its workflow task keeps failing (attempt {execution.task_attempt}, "
            f"since {_when(execution)}): it takes no messages and sends nothing",
            True,
        )
    if execution.running and not answered:
        return "workflow  running, but no worker answered its status query (is a worker running?)", True
    if execution.running:
        return "workflow  running", False
    if execution.status == "completed":
        return f"workflow  ended: completed on {_when(execution)}", False
    return f"workflow  not running: {execution.status} on {_when(execution)}", True


async def cmd_status(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> int:
    reading = await cases.plan_status(await get_client(), args.plan_id)
    execution = reading.execution
    answered = reading.status is not None and reading.answered
    saved = reading.status.as_json() if reading.status is not None else None
    line, trouble = execution_line(execution, answered or not execution.running)
    if args.json:
        doc: dict[str, Any] = saved or {"plan_id": args.plan_id}
        doc["execution_status"] = TASK_FAILING if execution.task_failing else execution.status
        if execution.since:
            doc["execution_since"] = execution.since.isoformat()
        print(json.dumps(doc, indent=2, sort_keys=False))
    else:
        print(line)
        if saved and not (execution.running and answered):
            print("(as the read model last saved it)")
        print(render.status(reading.status) if reading.status is not None else "no saved status for this plan")
    return NOT_RUNNING_EXIT if trouble else 0


async def cmd_doctor(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> int:
    waited = timedelta(seconds=args.waited)
    _, findings = await check_plans(await get_client(), waiting_too_long=waited)
    undelivered = await asyncio.to_thread(lambda: endpoint_trouble(get_engine()))
    if args.json:
        print(json.dumps([f.as_json() for f in findings] + [t.as_json() for t in undelivered], indent=2))
    else:
        for f in findings:
            print(f"{f.plan_id}  {f.describe()}")
        if not findings:
            print("no plan in trouble")
        for t in undelivered:
            advice = "; send them again with: cpplan events redeliver --failed" if t.failed else ""
            print(f"events  {t.describe()}{advice}")
    return TROUBLE_EXIT if findings or any(t.failed for t in undelivered) else 0
