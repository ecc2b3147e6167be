"""The project's own plan workflow, changed without a patch, for the replay tests to reject.

No `from __future__ import annotations` here: the SDK compares the run method's parameters with
the inherited `__init__`'s, annotations included, and workflows/plan.py's are evaluated types.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow

import workflows
from workflows.engine import PlanState
from workflows.plan import ChildProtectionPlan


@workflow.defn(name=workflows.WORKFLOW_TYPE, sandboxed=False)
class SamePlanAsASubclass(ChildProtectionPlan):
    """The real plan, unchanged, as a subclass: it replays, so what fails below is the change."""

    @workflow.run
    async def run(self, start: Any, carried: PlanState | None = None, context: Any = None) -> dict[str, Any]:
        return await super().run(start, carried, context)


@workflow.defn(name=workflows.WORKFLOW_TYPE, sandboxed=False)
class PlanChangedWithoutAPatch(ChildProtectionPlan):
    """The real plan, changed the way a careless release might change it: it waits a minute
    after loading its profile before it first saves the plan to the read model (say, to let a
    replica catch up), with no `workflow.patched(...)` around the new timer. Every message
    handler and query is the real one, inherited."""

    @workflow.run
    async def run(self, start: Any, carried: PlanState | None = None, context: Any = None) -> dict[str, Any]:
        return await super().run(start, carried, context)

    async def _publish(self) -> None:
        if self._published is None:
            await workflow.sleep(timedelta(minutes=1))
        await super()._publish()
