"""What every cpplan workflow does around its pure rules engine (plan and complaint alike):
load the profile and calendar once per run, deliver the outbox, sleep until the next action or
message, and turn message handlers into validated updates.

Workflow code (runs in the sandbox): an engine here is any object with `state.outbox`,
`state.start.plan_id`, `next_wakeup()`, `waiting_for(now)`, `delivery_failed(...)` and one method
per message taking `(payload, now, apply=...)`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import models as m
    from workflows.activity_io import LOAD_PLAN_CONTEXT, NOTIFY, NotifyBatch, NotifyResult, PlanContext, PlanContextRequest
    from workflows.calendar import local_date

NOTIFY_BATCH = 50
# A message handled while the loop was delivering or saving (awaiting an activity) used to have
# its wake-up cleared just before the loop went to sleep, so the letters it left waited for the
# next timer, days away. Runs with this marker keep that wake-up; histories recorded without it
# replay as they ran.
KEEP_WAKE_PATCH = "keep-wake-from-messages-during-delivery"

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["UnknownPolicy", "InvalidPolicy", "InvalidPayload"],
)


async def load_context(policy: str, first_year: int, years_ahead: int) -> PlanContext:
    """The profile and the authority's non-working days, through an activity: kept in the
    history, so a later `holidays` or profile release never changes what a run replays."""
    return await workflow.execute_activity(
        LOAD_PLAN_CONTEXT,
        PlanContextRequest(policy=policy, first_year=first_year, last_year=local_date(workflow.now()).year + years_ahead),
        result_type=PlanContext,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=ACTIVITY_RETRY,
        summary=f"load the {policy} profile and working-day calendar",
    )


def refused(err: m.Refusal) -> ApplicationError:
    return ApplicationError(str(err), type="Refused", non_retryable=True)


class EngineLoop:
    """Base of the workflow classes: the loop's shared steps and the message plumbing."""

    engine: Any = None
    _wake: bool = False

    async def _sleep_until_next(self) -> None:
        """One timer: the earliest reminder or escalation, or a message, whichever comes first."""
        engine = self.engine
        now = workflow.now()
        wake = engine.next_wakeup()
        timeout = max(wake - now, timedelta(seconds=1)) if wake else None
        workflow.set_current_details(f"Waiting for: {engine.waiting_for(now)}")
        if not workflow.patched(KEEP_WAKE_PATCH):
            self._wake = False
        try:
            await workflow.wait_condition(
                lambda: self._wake,
                timeout=timeout,
                timeout_summary=f"next reminder or escalation: {engine.waiting_for(now)}" if timeout else None,
            )
        except asyncio.TimeoutError:
            pass
        # Cleared once awake: a message handled from here on wakes the next sleep at once.
        self._wake = False

    async def _deliver(self) -> None:
        """Send what the handlers and clocks left in the outbox; keys make retries harmless."""
        engine = self.engine
        while engine.state.outbox:
            batch = list(engine.state.outbox[:NOTIFY_BATCH])
            kinds = sorted({n.kind for n in batch})
            try:
                result = await workflow.execute_activity(
                    NOTIFY,
                    NotifyBatch(plan_id=engine.state.start.plan_id, notifications=batch),
                    result_type=NotifyResult,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=ACTIVITY_RETRY,
                    summary=f"send {len(batch)} notification(s): {', '.join(kinds)}",
                )
            except ActivityError as err:
                # Only a non-retryable failure gets here: keep running, and tell a person.
                result = NotifyResult(failed=[{"key": n.key, "to_id": n.to_id, "reason": str(err.cause or err)} for n in batch])  # type: ignore[list-item]
            sent = {n.key for n in batch}
            engine.state.outbox = [n for n in engine.state.outbox if n.key not in sent]
            for failure in result.failed:
                engine.delivery_failed(failure.key, failure.to_id, failure.reason, workflow.now())

    async def _ready(self) -> Any:
        await workflow.wait_condition(lambda: self.engine is not None)
        return self.engine

    def _check(self, name: str, payload: Any) -> None:
        """Update validators: refuse bad input before it is written to history."""
        if self.engine is None:
            return  # still loading its profile: the handler checks once it has it
        try:
            getattr(self.engine, name)(payload, workflow.now(), apply=False)
        except m.Refusal as err:
            raise refused(err) from None

    async def _apply(self, name: str, payload: Any) -> dict[str, Any]:
        engine = await self._ready()
        try:
            result = getattr(engine, name)(payload, workflow.now(), apply=True)
        except m.Refusal as err:
            raise refused(err) from None
        self._applied(name, result)
        self._wake = True
        return result

    def _applied(self, name: str, result: dict[str, Any]) -> None:
        """Hook: a workflow reacts to an accepted update (the plan continues as new)."""

    async def _signal(self, name: str, payload: Any) -> None:
        engine = await self._ready()
        getattr(engine, name)(payload, workflow.now())
        self._wake = True
