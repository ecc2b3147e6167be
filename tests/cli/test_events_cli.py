"""`cpplan doctor` and `cpplan events` on a plan whose events do not get through: the plan is
started through the command line, its `plan.started` waits for a receiver that is down, and
doctor says so, then says it was given up, until `cpplan events redeliver` sends it again."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.db import event_deliveries, get_engine
from tests.cli.test_cli_server import run
from tests.helpers import eventually


async def test_doctor_names_an_endpoint_that_does_not_answer_and_redeliver_sends_again(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any], write_doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPPLAN_WEBHOOK_URL", "http://127.0.0.1:9/down?token=not-for-logs")
    code, _, err = await run(temporal, capsys, "start", write_doc(demo_doc))
    assert code == 0, err

    async def recorded() -> list[dict[str, Any]]:
        code, out, err = await run(temporal, capsys, "events", "list", "--plan", demo_doc["plan_id"], "--json")
        assert code == 0, err
        found = json.loads(out)
        assert [e["type"] for e in found] == ["uk.gov.cpplan.plan.started"]
        return found

    [started] = await eventually(recorded)
    assert started["deliveries"][0]["state"] == "pending"

    # The delivery loop tried and failed (no receiver); then it was given up.
    with get_engine().begin() as conn:
        conn.execute(event_deliveries.update().values(attempts=3, last_error="cannot connect: Connection refused"))
    code, out, err = await run(temporal, capsys, "doctor")
    assert code == 0, err  # being retried: said, not yet trouble
    assert "events  endpoint 1: 1 being retried since " in out and "Connection refused" in out
    with get_engine().begin() as conn:
        conn.execute(event_deliveries.update().values(state="failed"))
    code, out, err = await run(temporal, capsys, "doctor", "--json")
    assert code == 1, err
    [trouble] = [f for f in json.loads(out) if f["plan_id"] is None]
    assert (trouble["problem"], trouble["endpoint"], trouble["failed"]) == ("events-not-delivered", "1", 1)
    code, out, err = await run(temporal, capsys, "doctor")
    assert code == 1 and "cpplan events redeliver --failed" in out and "not-for-logs" not in out

    code, out, err = await run(temporal, capsys, "events", "redeliver", started["event_id"])
    assert (code, out.strip()) == (0, "1 deliveries to be sent again"), err
    with get_engine().connect() as conn:
        assert conn.execute(sa.select(event_deliveries.c.state, event_deliveries.c.attempts)).all() == [("pending", 0)]
    code, out, err = await run(temporal, capsys, "doctor")
    assert (code, out.strip()) == (0, "no plan in trouble"), err

    code, out, err = await run(temporal, capsys, "events", "redeliver")
    assert code == 1 and "say which events" in err
