"""The command line against a real (time-skipping) Temporal test server and the real worker."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from starters import cases, cli, dates
from starters.cases import today_in_london
from tests.helpers import eventually

# A line the in-process worker logged (timestamped, colours or not; or JSON, once a worker in the
# same test process has set up JSON logging), not one the command wrote.
WORKER_LOG_LINE = re.compile(r'^((\x1b\[[0-9;]*m)*\d{4}-\d{2}-\d{2}T|\{".*"timestamp": ")')


async def run(env: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # Bounded: an update waits for the worker, and a broken worker must fail the test, not hang it.
    capsys.readouterr()
    code = await asyncio.wait_for(cli.run(list(argv), client=env.client), timeout=60)
    captured = capsys.readouterr()
    err = "".join(line for line in captured.err.splitlines(keepends=True) if not WORKER_LOG_LINE.match(line))
    return code, captured.out, err


async def test_start_twice_keeps_one_plan(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any], write_doc
) -> None:
    path = write_doc(demo_doc)
    plan_id, workflow_id = demo_doc["plan_id"], f"cp-plan-{demo_doc['plan_id']}"
    code, out, err = await run(temporal, capsys, "start", path)
    assert code == 0, err
    # The plan id (what every command takes), its workflow id, and what falls due first.
    lines = out.splitlines()
    assert lines[0] == plan_id and lines[1].strip() == f"started (workflow {workflow_id})", out
    assert re.fullmatch(r"  next due  first core group: \w{3} \d+ \w{3} \d{4}, due in \d+ working days?", lines[2]), out
    first_run = (await temporal.client.get_workflow_handle(workflow_id).describe()).run_id

    code, out, err = await run(temporal, capsys, "start", path)
    assert code == 0, err
    assert out.splitlines()[:2] == [plan_id, f"  already running (workflow {workflow_id})"]
    assert "already running" in err
    assert (await temporal.client.get_workflow_handle(workflow_id).describe()).run_id == first_run
    # The workflow id it printed is taken wherever a plan id is.
    code, out, err = await run(temporal, capsys, "status", workflow_id)
    assert code == 0 and f"plan                {plan_id}" in out, err
    assert await cases.start_plan(temporal.client, demo_doc) == (f"cp-plan-{demo_doc['plan_id']}", False)


async def test_status_and_refusals(temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]) -> None:
    plan_id = demo_doc["plan_id"]
    assert await cases.start_plan(temporal.client, demo_doc) == (f"cp-plan-{plan_id}", True)

    tomorrow = (today_in_london() + timedelta(days=1)).isoformat()
    code, out, err = await run(temporal, capsys, "record-visit", plan_id, "--date", tomorrow, "--seen")
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "date" in err and "future" in err

    code, out, err = await run(
        temporal, capsys, "record-signature", plan_id, "--member-id", "nobody", "--date", today_in_london().isoformat()
    )
    assert code != 0
    assert "member_id" in err and "nobody" in err

    code, out, err = await run(
        temporal, capsys, "record-visit", plan_id, "--date", today_in_london().isoformat(), "--seen", "--seen-alone"
    )
    assert code == 0, err
    assert out.startswith(f"{plan_id}: record_visit recorded (request id record_visit:")
    assert "next due" in out  # what the plan answered, in words

    code, out, err = await run(temporal, capsys, "status", plan_id, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["plan_id"] == plan_id and status["state"] == "active"
    assert {"first-core-group", "visit", "review-conference"} <= {o["kind"] for o in status["obligations"]}
    assert any(h["event"] == "visit" for h in status["history"])

    code, out, err = await run(temporal, capsys, "status", plan_id)
    assert code == 0, err
    assert plan_id in out and "first-core-group" in out
    facts = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.split("\n\n")[0].splitlines())
    # Dates as people read them; the JSON above keeps ISO dates.
    assert facts["conference"].startswith(dates.prose_day(demo_doc["icpc_date"]) + " (initial)")
    assert (facts["lead social worker"], facts["team manager"]) == ("sw-demo", "tm-demo")
    assert (facts["missing"], facts["reviews held"], facts["state"]) == ("no", "0", "active")
    dues = [
        datetime.strptime(" ".join(line.split()[:4]), "%a %d %b %Y").date()
        for line in out.split("obligations (by due date)")[1].split("escalations")[0].splitlines()[2:]
        if line.strip()
    ]
    assert dues == sorted(dues) and len(dues) >= 3


async def test_signal_and_unknown_plan(temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, demo_doc)
    code, out, err = await run(temporal, capsys, "escalate", plan_id, "--by", "tm-demo", "--to", "sm-demo")
    assert code == 0, err
    assert out.startswith(f"{plan_id}: escalate sent (request id escalate:")

    async def applied() -> dict[str, Any]:
        status = (await cases.query_status(temporal.client, plan_id)).as_json()
        assert [h["event"] for h in status["history"] if h["event"].startswith("escalat")], status["history"]
        return status

    # Read by the plan as the escalation it was sent as (sealed for this plan, as `escalate`).
    status = await eventually(applied)
    assert not [h for h in status["history"] if h["event"] == "unreadable-message"], status["history"]

    code, out, err = await run(temporal, capsys, "status", "no-such-plan", "--json")
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no-such-plan" in err

    # A plan id typed with a terminal escape: no such plan (exit 6), the id written out.
    code, out, err = await run(temporal, capsys, "status", "p\x1b[31m-1")
    assert code == cli.EXIT_OF_REASON["not_found"] == 6 and out == ""
    assert err.strip() == "cpplan status: no plan 'p\\x1b[31m-1' (workflow cp-plan-p\\x1b[31m-1 not found)", err
    assert "\x1b" not in err


async def test_overdue_reads_the_read_model(temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]) -> None:
    await cases.start_plan(temporal.client, demo_doc)
    (await cases.query_status(temporal.client, demo_doc["plan_id"])).as_json()
    code, out, err = await run(temporal, capsys, "overdue", "--json")
    assert code == 0, err
    assert json.loads(out) == []  # a plan started today has nothing overdue


async def test_exit_status_says_which_kind_of_failure(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any], write_doc
) -> None:
    """A script tells "no such plan" from "refused" from "someone else's plan with that id" by
    the exit status alone, each chosen by the failure's reason code."""
    plan_id = demo_doc["plan_id"]
    today = today_in_london().isoformat()
    code, out, err = await run(temporal, capsys, "record-visit", "no-such-plan-77", "--date", today, "--seen")
    assert (code, out) == (cli.EXIT_NOT_FOUND, "") and "no plan 'no-such-plan-77'" in err, err
    code, _, err = await run(temporal, capsys, "status", "no-such-plan-77")
    assert code == cli.EXIT_NOT_FOUND, err

    assert (await run(temporal, capsys, "start", write_doc(demo_doc)))[0] == 0
    other = {**demo_doc, "child_ref": "child-somebody-else"}
    code, out, err = await run(temporal, capsys, "start", write_doc(other))
    assert (code, out) == (cli.EXIT_CONFLICT, "") and "child_ref: differs from the plan already running" in err, err

    tomorrow = (today_in_london() + timedelta(days=1)).isoformat()
    code, _, err = await run(temporal, capsys, "record-visit", plan_id, "--date", tomorrow, "--seen")
    assert code == cli.EXIT_FAILED and err.startswith("cpplan record-visit: refused: date: "), err
    code, _, err = await run(temporal, capsys, "record-visit", plan_id, "--date", today, "--seen", "--by", "par-demo")
    assert code == cli.EXIT_FORBIDDEN and "'par-demo' is the child's parent" in err, err


def test_every_reason_has_an_exit_status_and_an_http_status() -> None:
    from starters.web.problems import STATUS_OF_CODE

    assert set(cli.EXIT_OF_REASON) == set(cases.REASONS) == set(STATUS_OF_CODE)
    assert len({cli.EXIT_OF_REASON[r] for r in ("refused", "forbidden", "conflict", "not_found", "no_answer")}) == 5
