"""Sending a message to a case's workflow: one path for every client (the command line, the
HTTP API and pages, complaints), with request ids that make a repeat one record, a bound on
updates in flight to one workflow, and failures typed by reason (starters/cases/errors.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.converter import WorkflowSerializationContext
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from starters.cases.errors import Busy, ClientError, NoAnswer, NotEntitledRefused, Refused, UnknownPlan
from starters.cases.messages import PLANS, CaseKind, check_message
from worker.binding import sending
from workflows.runtime import NOT_ENTITLED

DEFAULT_TIMEOUT = 30.0  # seconds an update waits for a worker before the command gives up
# The server takes a few updates to one plan at once (its in-flight updates limit, 10 by
# default) and refuses more with RESOURCE_EXHAUSTED, before anything is applied: such an update
# is sent again after a pause, doubling from BUSY_FIRST_PAUSE_S to BUSY_LONGEST_PAUSE_S (with
# jitter, so many senders do not return together), until the command's timeout.
# The same is done when the server aborts an update it had admitted ("workflow update was
# aborted", UNAVAILABLE: it lost the workflow task carrying it, as happens in such a storm).
SEND_AGAIN = frozenset({RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE})
# Past the limit the server is worse than refusing: measured on the dev server, 60 updates at
# 10-way concurrency took 0.8 s, at 12-way 17 s and at 16-way over two minutes, admitted
# updates being aborted as the plan's workflow tasks were dropped. So one process sends at most
# UPDATES_AT_ONCE_PER_PLAN to a plan at a time and the rest wait their turn here (the time
# counts against the timeout); the pause-and-send-again covers other processes' updates.
UPDATES_AT_ONCE_PER_PLAN = 8
BUSY_FIRST_PAUSE_S = 0.05
BUSY_LONGEST_PAUSE_S = 2.0


def request_id(
    plan_id: str, name: str, payload: dict[str, Any], given: str | None = None, case_kind: CaseKind = PLANS
) -> str:
    """The id a message is sent with, so that sending it again is applied once: Temporal keeps
    one result per update id within a run, and one signal per request id.

    `given` is the caller's own request id (a case system's transaction reference). Without
    one, an update's id is a hash of the plan, the message and its normalised payload, so the
    same record typed twice is one record; a signal's is new each time, because a report must
    never be dropped as a repeat (a child can go missing, be found and go missing again on the
    same day): a report is retried safely with a request id of the caller's. The message name
    is part of the id either way: one request id reused for two messages must not swallow the
    second, and so is a digest of the payload: the same request id sent with other values is
    another request, never answered with the first one's result."""
    if given:
        return f"{name}:{given}:{payload_digest(payload)}"
    message = case_kind.messages.get(name)
    if message is not None and message.kind == "signal":
        return f"{name}:{uuid.uuid4().hex}"
    return f"{name}:{payload_digest([plan_id, name, payload])}"


def payload_digest(value: Any) -> str:
    """A short hash of a JSON value, keys sorted: the same values give the same digest."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def not_found(case_id: str, err: RPCError, case_kind: CaseKind = PLANS) -> ClientError:
    """`UnknownPlan` when the server has no such workflow, else what the server said."""
    workflow_id = case_kind.workflow_id(case_id)
    if err.status == RPCStatusCode.NOT_FOUND:
        return UnknownPlan(f"no {case_kind.noun} {case_id!r} (workflow {workflow_id} not found or already ended)")
    return ClientError(f"{workflow_id}: {err.message}")


class _PlanGates:
    """At most `size` updates in flight to one workflow from this process (per event loop: a
    semaphore belongs to the loop it first waits in)."""

    def __init__(self, size: int):
        self.size = size
        self._gates: dict[tuple[int, str], tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def gate(self, workflow_id: str) -> AsyncIterator[None]:
        key = (id(asyncio.get_running_loop()), workflow_id)
        gate, users = self._gates.get(key, (asyncio.Semaphore(self.size), 0))
        self._gates[key] = (gate, users + 1)
        try:
            async with gate:
                yield
        finally:
            gate, users = self._gates[key]
            if users <= 1:
                del self._gates[key]  # nobody else waiting: the gate is let go
            else:
                self._gates[key] = (gate, users - 1)


_PLAN_GATES = _PlanGates(UPDATES_AT_ONCE_PER_PLAN)


def no_answer_text(timeout: float, request: str | None) -> str:
    """What a timed-out update says: the server keeps it, so a worker that comes later applies
    it (tests/cli/test_delivery.py shows one applied after the command gave up)."""
    retry = f"--request-id {request}" if request else "the same command (its request id is derived from it)"
    return (
        f"no worker answered within {timeout:g} s; the update may still be applied when a worker comes: "
        f"retrying with {retry} is safe, it is applied once"
    )


async def send_update(
    client: Client,
    plan_id: str,
    name: str,
    payload: dict[str, Any],
    *,
    request: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    case_kind: CaseKind = PLANS,
) -> dict[str, Any]:
    """Send an update to the plan (or, with `case_kind`, another kind of case) and wait for its
    result; a refusal raises `Refused` with the workflow's message (which names the field), no
    answer within `timeout` seconds raises `NoAnswer`. `request` is the caller's request id
    (see `request_id`)."""
    payload = check_message(name, payload, case_kind)
    handle = client.get_workflow_handle(case_kind.workflow_id(plan_id))
    update_id = request_id(plan_id, name, payload, request, case_kind)
    busy = True  # until this process lets it go to the server (_PLAN_GATES)
    try:
        async with asyncio.timeout(timeout), _PLAN_GATES.gate(handle.id):
            busy = False
            pause = BUSY_FIRST_PAUSE_S
            while True:
                try:
                    return await handle.execute_update(name, payload, id=update_id, result_type=dict)
                except RPCError as err:
                    if err.status not in SEND_AGAIN:
                        raise
                    busy = err.status == RPCStatusCode.RESOURCE_EXHAUSTED
                # Sent again with the same id: applied once whatever became of the first.
                await asyncio.sleep(pause * random.uniform(0.5, 1.0))
                pause = min(pause * 2, BUSY_LONGEST_PAUSE_S)
    # Cancelled by the deadline, the SDK raises its own error rather than TimeoutError.
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        if busy:
            raise Busy(
                f"the plan was taking as many updates at once as Temporal allows for all of {timeout:g} s; "
                "nothing was applied: send it again shortly"
            ) from None
        raise NoAnswer(no_answer_text(timeout, request)) from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == NOT_ENTITLED:
            raise NotEntitledRefused(cause.message) from None
        if isinstance(cause, ApplicationError):
            raise Refused(cause.message) from None
        raise Refused(str(cause)) from None
    except RPCError as err:
        raise not_found(plan_id, err, case_kind) from None


async def send_signal(
    client: Client,
    plan_id: str,
    name: str,
    payload: dict[str, Any],
    *,
    request: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send a signal (the workflow records it whatever happens, so it is checked here first)
    with a request id, so the server keeps one of a retried signal. The SDK's `handle.signal`
    makes up a random request id of its own, so this sends the service request itself; the
    payload goes through the client's data converter (and codec) all the same. Returns the
    request id it was sent with."""
    payload = check_message(name, payload)
    req = SignalWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=PLANS.workflow_id(plan_id)),
        signal_name=name,
        identity=client.identity,
        request_id=request_id(plan_id, name, payload, request),
    )
    # Sealed as the SDK's own `signal` would seal it: for this plan's workflow, as this message.
    converter = client.data_converter.with_context(
        WorkflowSerializationContext(namespace=client.namespace, workflow_id=req.workflow_execution.workflow_id)
    )
    req.input.payloads.extend(await sending(name, lambda: converter.encode([payload])))
    try:
        await client.workflow_service.signal_workflow_execution(req, retry=True, timeout=timedelta(seconds=timeout))
    except RPCError as err:
        if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
            again = req.request_id.removeprefix(f"{name}:")
            raise NoAnswer(
                f"Temporal did not answer within {timeout:g} s; the report may not have been kept "
                f"(retry with --request-id {again}: it is kept once)"
            ) from None
        raise not_found(plan_id, err) from None
    return req.request_id
