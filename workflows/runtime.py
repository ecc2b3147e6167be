"""What every cpplan workflow does around its pure rules engine (plan and complaint alike):
load the profile and calendar once per run, deliver the outbox, sleep until the next action or
message, and turn message handlers into validated updates.

Workflow code (runs in the sandbox): an engine here is a case kernel (`workflows.case.CaseEngine`:
`state.outbox`, `next_wakeup()`, `delivery_failed(...)`, `unreadable(...)`, `message_failed(...)`)
with `waiting_for(now)` and one method per message taking `(payload, now, apply=...)`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows import models as m
    from workflows.activity_io import (
        LOAD_PLAN_CONTEXT,
        NOTIFY,
        DeliveryFailure,
        NotifyBatch,
        NotifyResult,
        PlanContext,
        PlanContextRequest,
    )
    from workflows.calendar import local_date
    from workflows.message_spec import MessageSpec
    from workflows.unreadable import BOUND_TO, UNBOUND, Unreadable

NOTIFY_BATCH = 50
NOTIFY_TIMEOUT = timedelta(minutes=2)  # a batch of up to NOTIFY_BATCH e-mails
# A message handled while the loop was delivering or saving (awaiting an activity) used to have
# its wake-up cleared just before the loop went to sleep, so the letters it left waited for the
# next timer, days away. Runs with this marker keep that wake-up; histories recorded without it
# replay as they ran.
KEEP_WAKE_PATCH = "keep-wake-from-messages-during-delivery"
# Runs with this marker keep shorter histories (under half the events per plan-year):
# - the run's context is loaded, and the read model saved, by local activities: one marker event
#   each, inside the workflow task that needed them, instead of three activity events and a
#   further workflow task; the saved status no longer travels through the history;
# - a batch of notifications is first tried as a local activity too (see `_send`);
# - the sleep keeps its timer while the earliest wake-up does not move, instead of cancelling
#   and restarting it for every message;
# - the patches above are implied: a run with this marker was started by code that has them all,
#   so their markers are not recorded again.
# Histories recorded without it replay as they ran.
LEAN_HISTORY_PATCH = "lean-history"
# Runs with this marker keep a message payload sealed before payloads were bound to their plan
# and message (worker/codec.py) as unreadable, as they keep one sealed for another message. It
# is asked when such a payload first reaches a handler: a run that took one before this release
# answers no, replays as it ran and takes them until it continues as new at its next review.
BOUND_PAYLOADS_PATCH = "bound-payloads"
LOCAL_TIMEOUT = timedelta(seconds=30)
LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)

ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["UnknownPolicy", "InvalidPolicy", "InvalidPayload"],
)

SINGLE_ATTEMPT = RetryPolicy(maximum_attempts=1, non_retryable_error_types=ACTIVITY_RETRY.non_retryable_error_types)


def _cause(err: FailureError) -> BaseException:
    """What went wrong in the activity: a regular activity's failure arrives wrapped in an
    ActivityError, a local activity's as the activity's own error."""
    return (err.cause or err) if isinstance(err, ActivityError) else err


def _non_retryable(err: FailureError) -> bool:
    """Whether retrying cannot help: the activity said so, or its error type is one that
    ACTIVITY_RETRY never retries."""
    cause = _cause(err)
    if not isinstance(cause, ApplicationError):
        return False  # a timeout or a cancellation: try again
    return cause.non_retryable or cause.type in (ACTIVITY_RETRY.non_retryable_error_types or [])


async def run_activity(
    name: str,
    arg: Any,
    *,
    local: bool,
    summary: str,
    result_type: type | None = None,
    timeout: timedelta = LOCAL_TIMEOUT,
) -> Any:
    """A quick activity, as a local one where the run has LEAN_HISTORY_PATCH. Either way its
    result lands in the history, and retries follow ACTIVITY_RETRY. A local activity waits
    between attempts on a timer (LOCAL_RETRY_THRESHOLD), not inside its workflow task: so a
    plan whose database is down still answers `status` and takes messages meanwhile.

    `summary` goes on regular activities only. On a local activity the UI shows it only beside
    the completed marker, whose details already name the activity (load_plan_context,
    save_plan, notify) and hold its result; in the sandbox each summary costs a payload
    conversion per workflow task (about a tenth of a replay, docs/sdk-costs.md). Timers keep
    theirs: a pending timer's summary is what ops read for what a plan waits on."""
    if local:
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timeout,
            retry_policy=ACTIVITY_RETRY,
            local_retry_threshold=LOCAL_RETRY_THRESHOLD,
        )
    return await workflow.execute_activity(
        name, arg, result_type=result_type, start_to_close_timeout=timeout, retry_policy=ACTIVITY_RETRY, summary=summary
    )


async def load_context(policy: str, first_year: int, years_ahead: int, *, local: bool = False) -> PlanContext:
    """The profile and the authority's non-working days, through an activity: kept in the
    history (a local activity's result is too), so a later `holidays` or profile release never
    changes what a run replays."""
    return await run_activity(
        LOAD_PLAN_CONTEXT,
        PlanContextRequest(
            policy=policy, first_year=first_year, last_year=local_date(workflow.now()).year + years_ahead
        ),
        local=local,
        result_type=PlanContext,
        summary=f"load the {policy} profile and working-day calendar",
    )


# The error types an update's refusal comes back with: a sender not entitled (403 on the HTTP
# API), or anything else (422). Clients read the type, never the words.
REFUSED = m.Refusal.failure_type
NOT_ENTITLED = m.NotEntitled.failure_type


def refused(err: m.Refusal) -> ApplicationError:
    # The type says which refusal (bad input, or not the sender's decision): clients decide by it.
    return ApplicationError(str(err), type=err.failure_type, non_retryable=True)


class EngineLoop:
    """Base of the workflow classes: the loop's shared steps and the message plumbing."""

    engine: Any = None
    _wake: bool = False
    # Set by a workflow whose run has LEAN_HISTORY_PATCH.
    _lean: bool = False
    _timer: asyncio.Task[None] | None = None
    _timer_at: datetime | None = None

    async def _sleep_until_next(self) -> None:
        """One timer: the earliest reminder or escalation, or a message, whichever comes first."""
        engine = self.engine
        now = workflow.now()
        wake = engine.next_wakeup()
        waiting_for = engine.waiting_for(now)
        workflow.set_current_details(f"Waiting for: {waiting_for}")
        if self._lean:
            await self._sleep_on_steady_timer(wake, now, waiting_for)
        else:
            timeout = max(wake - now, timedelta(seconds=1)) if wake else None
            if not workflow.patched(KEEP_WAKE_PATCH):
                self._wake = False
            try:
                await workflow.wait_condition(
                    lambda: self._wake,
                    timeout=timeout,
                    timeout_summary=f"next reminder or escalation: {waiting_for}" if timeout else None,
                )
            except TimeoutError:
                pass
        # Cleared once awake: a message handled from here on wakes the next sleep at once.
        self._wake = False

    async def _sleep_on_steady_timer(self, wake: datetime | None, now: datetime, waiting_for: str) -> None:
        """Sleep until `wake` or a message, keeping the timer already set for that instant."""
        timer = self._timer
        if timer is not None and (timer.done() or self._timer_at != wake):
            timer.cancel()  # a no-op once fired
            timer = self._timer = None
        if wake is not None and timer is None:
            timer = self._timer = asyncio.ensure_future(
                workflow.sleep(
                    max(wake - now, timedelta(seconds=1)),
                    summary=f"next reminder or escalation: {waiting_for}",
                )
            )
            self._timer_at = wake
        await workflow.wait_condition(lambda: self._wake or (timer is not None and timer.done()))

    def _stop_timer(self) -> None:
        """Cancel the steady timer before the run ends (completes or continues as new): a timer
        left behind would still be due on the server's clock."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _deliver(self) -> None:
        """Send what the handlers and clocks left in the outbox; keys make retries harmless."""
        engine = self.engine
        while engine.state.outbox:
            batch = list(engine.state.outbox[:NOTIFY_BATCH])
            try:
                result = await self._send(NotifyBatch(plan_id=engine.state.start.plan_id, notifications=batch))
            except (ActivityError, ApplicationError) as err:
                # Only a non-retryable failure gets here: keep running, and tell a person.
                reason = str(_cause(err))
                result = NotifyResult(failed=[DeliveryFailure(key=n.key, to_id=n.to_id, reason=reason) for n in batch])
            sent = {n.key for n in batch}
            engine.state.outbox = [n for n in engine.state.outbox if n.key not in sent]
            for failure in result.failed:
                engine.delivery_failed(failure.key, failure.to_id, failure.reason, workflow.now())

    async def _send(self, batch: NotifyBatch) -> NotifyResult:
        if self._lean:
            # Most batches go at the first try: as a local activity, in the workflow task that
            # found them due. One that fails and can be retried is handed to a regular activity,
            # which the server retries with backoff, where ops see it waiting and why.
            try:
                return await workflow.execute_local_activity(
                    NOTIFY,
                    batch,
                    result_type=NotifyResult,
                    start_to_close_timeout=NOTIFY_TIMEOUT,
                    retry_policy=SINGLE_ATTEMPT,
                )
            except FailureError as err:
                # A local activity's failure arrives as its own error (an ApplicationError, or a
                # TimeoutError), not wrapped in an ActivityError. Cancellation is not a failure.
                if isinstance(err, CancelledError) or _non_retryable(err):
                    raise
        kinds = ", ".join(sorted({n.kind for n in batch.notifications}))
        summary = f"send {len(batch.notifications)} notification(s): {kinds}"
        return await run_activity(
            NOTIFY, batch, local=False, result_type=NotifyResult, timeout=NOTIFY_TIMEOUT, summary=summary
        )

    async def _ready(self) -> Any:
        await workflow.wait_condition(lambda: self.engine is not None)
        return self.engine

    # A message handler never fails a workflow task: whatever a client sends (no payload, two,
    # one the worker could not open, one that is not what the message takes) is refused (an
    # update) or recorded as unreadable with a person told (a signal). A failing workflow task
    # would stop every reminder and escalation of the plan until someone noticed.

    def _check(self, name: str, args: Sequence[Any]) -> None:
        """Update validators: refuse bad input before it is written to history."""
        if self.engine is None:
            return  # still loading its profile: the handler checks once it has it
        try:
            payload = _one_payload(name, args)
            if isinstance(payload, Unreadable):
                return  # accepted, so that the handler records it and tells someone
            getattr(self.engine, name)(payload, workflow.now(), apply=False)
        except m.Refusal as err:
            raise refused(err) from None

    async def _apply(self, name: str, args: Sequence[Any]) -> dict[str, Any]:
        engine = await self._ready()
        now = workflow.now()
        try:
            payload = _one_payload(name, args)
        except m.Refusal as err:
            raise refused(err) from None
        if isinstance(payload, Unreadable):
            engine.unreadable(now, name, payload.reason)
            self._wake = True
            raise refused(m.Refusal.one("(payload)", f"could not be read: {payload.reason}"))
        try:
            result = getattr(engine, name)(payload, now, apply=True)
        except m.Refusal as err:
            raise refused(err) from None
        except workflow.NondeterminismError:
            raise
        except Exception as err:  # a fault in the rules: recorded and told, the plan runs on
            engine.message_failed(now, name, type(err).__name__)
            self._wake = True
            raise ApplicationError(
                f"{name} could not be applied ({type(err).__name__}); the team manager has been told",
                type="MessageFailed",
                non_retryable=True,
            ) from None
        self._applied(name, result)
        self._wake = True
        return result

    def _applied(self, name: str, result: dict[str, Any]) -> None:
        """Hook: a workflow reacts to an accepted update (the plan continues as new)."""

    async def _signal(self, name: str, args: Sequence[Any]) -> None:
        engine = await self._ready()
        now = workflow.now()
        try:
            payload = _one_payload(name, args)
        except m.Refusal as err:
            payload = Unreadable(str(err))
        if isinstance(payload, Unreadable):
            engine.unreadable(now, name, payload.reason)
        else:
            try:
                getattr(engine, name)(payload, now)
            except workflow.NondeterminismError:
                raise
            except Exception as err:  # a fault in the rules: recorded and told, the plan runs on
                engine.message_failed(now, name, type(err).__name__)
        self._wake = True


def _shown(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:40] + "...")


def _opened(name: str, args: Sequence[Any], *, deciding: bool) -> list[Any]:
    """A message's arguments as its handler reads them. The first comes as the payload the
    worker's codec opened (`RawValue`, see `_takes_payload`), whose marks say what it was sealed
    as: one sealed as another message (a sealed `record_notes_circulated` sent as `report_death`)
    becomes `Unreadable`, as does one sealed before binding in a run with BOUND_PAYLOADS_PATCH.
    `deciding` is false in an update's validator, which may not ask a patch: it lets such a
    payload through as unreadable, for the handler to decide."""
    values = list(args)
    if not values or not isinstance(values[0], RawValue):
        return values
    payload = values[0].payload
    value = workflow.payload_converter().from_payloads([payload])[0]
    bound_to = payload.metadata.get(BOUND_TO)
    if isinstance(value, Unreadable):
        pass
    elif bound_to is not None:
        sealed_as = bound_to.decode("utf-8", "replace")
        if sealed_as != name:
            value = Unreadable(
                f"sealed as {_shown(sealed_as)}, sent as {name!r}; a payload is read only as the message it was sent as"
            )
    elif UNBOUND in payload.metadata and (not deciding or workflow.patched(BOUND_PAYLOADS_PATCH)):
        value = Unreadable("sealed without naming its plan and message (before binding); send it again")
    values[0] = value
    return values


def _takes_payload(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Have the SDK hand `fn` (which takes `*args`) its first argument as the opened payload,
    not yet converted (a `RawValue`), and any further ones converted as usual: the SDK reads
    argument types from the signature, and `*args` alone would give it none."""
    fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("payload", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=RawValue),
        ]
    )
    fn.__annotations__ = {"payload": RawValue}
    return fn


def _one_payload(name: str, args: Sequence[Any]) -> Any:
    """Every message carries exactly one payload, a JSON object."""
    if len(args) != 1:
        raise m.Refusal.one("(payload)", f"{name} takes one payload, a JSON object; {len(args)} were sent")
    return args[0]


def _known(specs: tuple[MessageSpec, ...]) -> str:
    return ", ".join(spec.name for spec in specs)


def message_handlers(specs: tuple[MessageSpec, ...]) -> Callable[[type[EngineLoop]], type[EngineLoop]]:
    """Class decorator (under `@workflow.defn`): one handler per message of `specs`, named after
    it, plus handlers for names that are not messages. Handlers take any number of arguments of
    any type, so no payload a client sends can fail the workflow task before the rules see it."""

    def decorate(cls: type[EngineLoop]) -> type[EngineLoop]:
        for spec in specs:
            setattr(cls, spec.name, _update_handler(spec.name) if spec.kind == "update" else _signal_handler(spec.name))
        setattr(cls, "_unknown_signal", _unknown_signal_handler())
        setattr(cls, "_unknown_update", _unknown_update_handler(_known(specs)))
        return cls

    return decorate


def _update_handler(name: str) -> Any:
    async def handler(self: EngineLoop, *args: Any) -> dict[str, Any]:
        await self._ready()  # the patch is asked once the run has asked its own
        return await self._apply(name, _opened(name, args, deciding=True))

    def validator(self: EngineLoop, *args: Any) -> None:
        self._check(name, _opened(name, args, deciding=False))

    handler.__name__ = handler.__qualname__ = name
    update = workflow.update(name=name)(_takes_payload(handler))
    update.validator(_takes_payload(validator))
    return update


def _signal_handler(name: str) -> Any:
    async def handler(self: EngineLoop, *args: Any) -> None:
        await self._ready()
        await self._signal(name, _opened(name, args, deciding=True))

    handler.__name__ = handler.__qualname__ = name
    return workflow.signal(name=name)(_takes_payload(handler))


def _unknown_signal_handler() -> Any:
    # `self` unannotated: the SDK reads a dynamic handler's hints as (self, str, Sequence[RawValue]).
    async def handler(self, name: str, args: Sequence[RawValue]) -> None:
        engine = await self._ready()
        engine.unreadable(workflow.now(), name[:80], "no such message")
        self._wake = True

    return workflow.signal(dynamic=True)(handler)


def _unknown_update_handler(known: str) -> Any:
    async def handler(self, name: str, args: Sequence[RawValue]) -> None:
        raise refused(m.Refusal.one("(message)", f"no message named {name[:80]!r}; known: {known}"))

    def validator(self, name: str, args: Sequence[RawValue]) -> None:
        raise refused(m.Refusal.one("(message)", f"no message named {name[:80]!r}; known: {known}"))

    update = workflow.update(dynamic=True)(handler)
    update.validator(validator)
    return update
