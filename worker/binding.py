"""Naming the message a client seals: every client of this system sends through it.

The codec binds each payload to its workflow and its message (worker/codec.py), but the SDK
tells a codec only the workflow. This client interceptor sets the message (`SENDING`) around
each call that seals a payload: a start's arguments as `input`, a signal, update or query's as
its name. A client built without it seals messages as `result`, which no message handler of a
plan accepts (workflows/runtime.py): forgetting it fails safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import (
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)

from worker.codec import SENDING, START_INPUT

T = TypeVar("T")


async def sending(message: str, call: Callable[[], Awaitable[T]]) -> T:
    """`call()` with its payloads sealed as `message`."""
    token = SENDING.set(message)
    try:
        return await call()
    finally:
        SENDING.reset(token)


class _NamesMessages(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        # A signal-with-start seals its signal as `input` too: no plan is sent one.
        return await sending(START_INPUT, lambda: self.next.start_workflow(input))

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        await sending(input.signal, lambda: self.next.signal_workflow(input))

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        return await sending(input.update, lambda: self.next.start_workflow_update(input))

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        return await sending(input.query, lambda: self.next.query_workflow(input))


class BindMessages(Interceptor):
    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _NamesMessages(next)


def client_interceptors() -> list[Interceptor]:
    """What every cpplan client is built with (`worker.client.connect`, the tests' servers)."""
    return [BindMessages()]
