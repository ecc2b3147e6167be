"""What only the real server does, answered honestly: it refuses updates past its in-flight limit
on one plan (the client waits and sends them again, so all are applied), it reports a workflow
task no worker picks up (`cpplan doctor` lists the plan), and the status query gives the newest
history entries while the read model keeps them all, a page at a time."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import workflows
from activities.read_model import history_page
from starters import cases
from starters.cases import today_in_london
from tests.cli.test_cli_server import run
from tests.helpers import eventually
from workflows.status import HISTORY_IN_STATUS

UPDATES = 250
AT_ONCE = 32


async def test_250_updates_at_once_to_one_plan_are_all_applied_and_the_status_stays_small(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    today = today_in_london().isoformat()
    gate = asyncio.Semaphore(AT_ONCE)

    async def visit(n: int) -> None:
        async with gate:
            payload = {"date": today, "seen": True, "by": demo_doc["lead_social_worker"]["id"], "again": True}
            await cases.send_update(dev_server.client, plan_id, "record_visit", payload, request=f"v-{n}", timeout=300)

    # The server takes 10 updates to one plan at once and refuses the rest (RESOURCE_EXHAUSTED);
    # none of these may fail for it.
    await asyncio.gather(*(visit(n) for n in range(UPDATES)))

    status = (await cases.query_status(dev_server.client, plan_id)).as_json()
    assert status["history_counts"]["visit"] == UPDATES
    assert status["history_total"] > UPDATES and len(status["history"]) == HISTORY_IN_STATUS
    assert status["history"][-1]["event"] == "visit"
    assert len(json.dumps(status["history"])) < 40_000  # whatever the plan has been sent

    async def all_saved() -> None:
        entries, total = await asyncio.to_thread(history_page, plan_id, limit=500)
        assert total == status["history_total"] == len(entries)
        assert [e["position"] for e in entries] == list(range(total))
        assert sum(e["event"] == "visit" for e in entries) == UPDATES

    await eventually(all_saved, timeout=60)
    code, out, err = await run(dev_server, capsys, "history", plan_id, "--page", "2", "--json")
    assert code == 0, err
    page = json.loads(out)
    assert page["page"] == 2 and page["total"] == status["history_total"]
    assert [e["position"] for e in page["entries"]] == list(range(50, 100))
    code, out, err = await run(dev_server, capsys, "history", "no-such-plan")
    assert code == 1 and err.strip() == "cpplan history: no history for plan 'no-such-plan' in the read model"


async def test_doctor_lists_a_plan_whose_workflow_task_no_worker_picks_up(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    healthy = {**demo_doc, "plan_id": f"{demo_doc['plan_id']}-ok"}
    await cases.start_plan(dev_server.client, healthy)
    await dev_server.client.start_workflow(
        workflows.WORKFLOW_TYPE,
        demo_doc,
        id=workflows.workflow_id(demo_doc["plan_id"]),
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
    )

    async def listed() -> str:
        code, out, err = await run(dev_server, capsys, "doctor", "--waited", "1")
        assert code == 1, (out, err)
        return out

    out = await eventually(listed, timeout=30)
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{demo_doc['plan_id']}  running, but its workflow task has waited")
    assert "no worker polling its task queue" in lines[0]

    # Not before it has waited as long as asked.
    code, out, _ = await run(dev_server, capsys, "doctor", "--waited", "3600")
    assert code == 0 and out.strip() == "no plan in trouble"
