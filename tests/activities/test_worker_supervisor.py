"""The supervisor of `cpplan worker --processes N` when a worker process keeps dying: it restarts
it, then stops everything and says which process died and how."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from worker import supervisor


async def test_a_process_that_keeps_dying_stops_all_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    # Nothing listens on port 1: each worker process fails to connect and exits at once.
    monkeypatch.setattr(supervisor, "MAX_RESTARTS", 1)
    with capture_logs() as events, pytest.raises(supervisor.SupervisorError) as err:
        await asyncio.wait_for(supervisor.supervise(2, address="127.0.0.1:1"), timeout=120)
    message = str(err.value)
    assert "exited with status 1, 2 times within 60 s; all worker processes stopped" in message
    assert message.startswith("worker process ")
    restarted = [e for e in events if e["event"] == "worker process exited; restarting"]
    assert restarted and all(e["status"] == 1 for e in restarted)
    assert [e["event"] for e in events][-1] == "worker processes stopped"


async def test_no_processes_is_refused() -> None:
    with pytest.raises(ValueError, match="--processes"):
        await supervisor.supervise(0)
