"""`PlanWatchdog`: one short sweep for plans that have stopped unnoticed.

A Temporal Schedule (worker/watchdog_schedule.py) starts it every `CPPLAN_WATCHDOG_EVERY`
minutes; it runs the `watch_plans` activity, which does the work (activities/watchdog.py) and
returns what it found. Short and stateless: a sweep that fails is simply tried at the next one.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

WATCHDOG_TYPE = "PlanWatchdog"
WATCH_PLANS = "watch_plans"  # activities/watchdog.py


@workflow.defn(name=WATCHDOG_TYPE)
class PlanWatchdog:
    @workflow.run
    async def run(self) -> dict[str, Any]:
        return await workflow.execute_activity(
            WATCH_PLANS,
            result_type=dict,
            # Describing tens of thousands of plans takes minutes; the heartbeat shows it is alive.
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=3),
            summary="find plans whose workflow stopped or keeps failing; tell ops and the team manager",
        )
