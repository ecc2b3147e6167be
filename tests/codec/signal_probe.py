"""A workflow that keeps what its untyped signal handler received, for tests/codec (kept apart
from the test module so the sandbox imports nothing of pytest)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.unreadable import Unreadable


@workflow.defn(sandboxed=True)
class SignalProbe:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: len(self.received) >= 3)

    @workflow.signal
    def message(self, *args: Any) -> None:
        for arg in args:
            if isinstance(arg, Unreadable):
                self.received.append({"unreadable": arg.reason})
            else:
                self.received.append({"value": arg})

    @workflow.query
    def seen(self) -> list[dict[str, Any]]:
        return self.received
