"""`BenchTrivial`: a workflow that only waits on one timer. It is registered in the bench's own
worker (never in production's `build_worker` defaults) and started exactly as a plan is, so the
plan's start rate can be compared with the cheapest possible start.

Only `temporalio.workflow` is imported here: the sandbox re-imports this module for the
workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

TRIVIAL_TYPE = "BenchTrivial"
# Long enough never to fire during a bench: the workflow only has to reach its timer.
TRIVIAL_SLEEP = timedelta(days=1)


@workflow.defn(name=TRIVIAL_TYPE)
class BenchTrivial:
    """The yardstick: takes a plan-sized input, ignores it, waits on one timer."""

    @workflow.run
    async def run(self, start: Any) -> None:
        await workflow.sleep(TRIVIAL_SLEEP)
