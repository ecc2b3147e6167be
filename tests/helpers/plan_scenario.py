"""Drive a plan on the time-skipping server the way a practitioner would describe it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.read_model import list_outbox
from tests.helpers import eventually, obligation, query_status, skip_to


class Plan:
    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], plan_id: str):
        self.env, self.handle, self.plan_id = env, handle, plan_id

    async def at(self, when: datetime) -> None:
        """Let the plan live until `when` (its timers fire on the way)."""
        await skip_to(self.env, when)

    async def started(self) -> None:
        """Wait (real time) until the plan has loaded its profile and opened its clocks."""

        async def check() -> None:
            assert (await self.status())["state"] != "starting"

        await eventually(check)

    async def status(self) -> dict[str, Any]:
        return await query_status(self.handle)

    async def obligation(self, ident: str) -> dict[str, Any]:
        return obligation(await self.status(), ident)

    async def update(self, name: str, payload: dict[str, Any]) -> Any:
        return await self.handle.execute_update(name, payload, result_type=dict)

    async def refused(self, name: str, payload: Any) -> str:
        """The update is refused with a message, and the plan's status is unchanged."""
        before = await self.status()
        try:
            await self.handle.execute_update(name, payload, result_type=dict)
        except WorkflowUpdateFailedError as err:
            assert isinstance(err.cause, ApplicationError), err.cause
            # Bad input, or a decision not the sender's (m.NotYours): both change nothing.
            assert err.cause.type in ("Refused", "Forbidden"), err.cause
            message = err.cause.message
        else:
            raise AssertionError(f"{name} {payload} was accepted")
        assert await self.status() == before, "a refused update changed the plan"
        return message

    async def signal(self, name: str, payload: dict[str, Any]) -> None:
        await self.handle.signal(name, payload)

    def notifications(self) -> list[dict[str, Any]]:
        return list_outbox(self.plan_id)

    async def told(self, kind: str, to: str, obligation_id: str | None = None) -> dict[str, Any]:
        """Wait (real time) until the outbox holds such a notification; return it."""

        async def check() -> dict[str, Any]:
            for row in self.notifications():
                if (
                    row["kind"] == kind
                    and row["to_id"] == to
                    and (obligation_id is None or row["obligation_id"] == obligation_id)
                ):
                    return row
            raise AssertionError(
                f"no {kind} to {to} for {obligation_id}: {[(r['kind'], r['to_id'], r['obligation_id']) for r in self.notifications()]}"
            )

        return await eventually(check)

    def not_told(self, kind: str, to: str, obligation_id: str | None = None) -> None:
        found = [
            r
            for r in self.notifications()
            if r["kind"] == kind and r["to_id"] == to and (obligation_id is None or r["obligation_id"] == obligation_id)
        ]
        assert not found, found
