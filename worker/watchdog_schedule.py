"""The Temporal Schedule that runs the `PlanWatchdog` sweep every `CPPLAN_WATCHDOG_EVERY` minutes
(default 15). The worker creates it at start-up, or brings it up to date (interval, task queue):
idempotent, so every worker replica may do so. `CPPLAN_WATCHDOG_EVERY=0` leaves it alone.
"""

from __future__ import annotations

import os
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from workflows.watchdog import WATCHDOG_TYPE

DEFAULT_EVERY_MINUTES = 15

log = structlog.get_logger("cpplan.watchdog")


def watchdog_every() -> timedelta | None:
    """`CPPLAN_WATCHDOG_EVERY` minutes; None (no schedule) for 0."""
    raw = os.environ.get("CPPLAN_WATCHDOG_EVERY", "").strip()
    try:
        minutes = float(raw) if raw else DEFAULT_EVERY_MINUTES
    except ValueError:
        raise ValueError(f"CPPLAN_WATCHDOG_EVERY must be a number of minutes, not {raw!r}") from None
    if minutes < 0:
        raise ValueError(f"CPPLAN_WATCHDOG_EVERY must not be negative, not {raw!r}")
    return timedelta(minutes=minutes) if minutes else None


def schedule_id(task_queue: str) -> str:
    return f"cpplan-watchdog-{task_queue}"


def watchdog_schedule(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WATCHDOG_TYPE,
            id=f"cpplan-watchdog-{task_queue}",
            task_queue=task_queue,
            # Room for the activity's retries; a sweep left hanging never blocks the next for long.
            execution_timeout=timedelta(hours=2),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A sweep still running when the next is due: skip the next, never run two at once.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_watchdog_schedule(client: Client, task_queue: str) -> str | None:
    """Create or update the schedule; returns its id, or None when disabled or the server has no
    schedules (the time-skipping test server): the worker runs all the same."""
    every = watchdog_every()
    if every is None:
        return None
    ident = schedule_id(task_queue)
    schedule = watchdog_schedule(task_queue, every)
    try:
        try:
            await client.create_schedule(ident, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(ident).update(replace)
    except RPCError as err:
        log.warning("watchdog schedule not set up", schedule_id=ident, reason=err.message)
        return None
    log.info("watchdog schedule set", schedule_id=ident, every_minutes=every.total_seconds() / 60)
    return ident
