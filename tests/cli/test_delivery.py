"""Messages the command line sends finish or fail clearly: an update no worker answers gives up
after its deadline, and a report dated in the future or before the plan, or one whose plan no
worker can check, is refused before anything is sent. (A message sent twice is applied once:
tests/dev_server/test_request_ids.py, on the real server, which keeps signal request ids.)"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import workflows
from starters import cases, cli
from starters.cases import today_in_london
from tests.cli.test_cli_server import run
from tests.helpers import eventually, running_worker


async def _plan_no_worker_polls(temporal: WorkflowEnvironment, doc: dict[str, Any], queue: str = "") -> str:
    """A plan on a task queue no worker polls: nobody will answer its updates or queries until
    a worker polls `queue`."""
    await temporal.client.start_workflow(
        workflows.WORKFLOW_TYPE,
        doc,
        id=workflows.workflow_id(doc["plan_id"]),
        task_queue=queue or f"nobody-{uuid.uuid4().hex[:8]}",
    )
    return str(doc["plan_id"])


async def test_an_update_no_worker_answers_gives_up(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = await _plan_no_worker_polls(temporal, demo_doc)
    visit = ("record-visit", plan_id, "--date", today_in_london().isoformat(), "--no-seen")

    code, out, err = await run(temporal, capsys, *visit, "--timeout", "2", "--request-id", "r-1")

    assert code == 3 and out == ""
    assert err.strip() == (
        "cpplan record-visit: no worker answered within 2 s; the update may still be applied when a worker "
        "comes: retrying with --request-id r-1 is safe, it is applied once"
    )


async def test_an_update_given_up_on_is_applied_when_a_worker_comes_and_once_when_retried(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    """What the command says when it gives up is what happens: the server keeps the update, the
    first worker to poll applies it, and the same command sent again is the same record."""
    queue = f"later-{uuid.uuid4().hex[:8]}"
    plan_id = await _plan_no_worker_polls(temporal, demo_doc, queue)
    visit = ("record-visit", plan_id, "--date", today_in_london().isoformat(), "--no-seen", "--request-id", "r-2")

    code, _, err = await run(temporal, capsys, *visit, "--timeout", "2")
    assert code == 3 and "may still be applied when a worker comes" in err

    async with running_worker(temporal, task_queue=queue):

        async def visited() -> None:
            status = (await cases.query_status(temporal.client, plan_id)).as_json()
            assert [h["event"] for h in status["history"]].count("visit") == 1

        await eventually(visited, timeout=30)
        code, out, err = await run(temporal, capsys, *visit)
        assert code == 0, err
        await visited()


async def test_a_report_no_worker_can_check_is_not_sent(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = await _plan_no_worker_polls(temporal, demo_doc)
    report = ("report-missing", plan_id, "--date", today_in_london().isoformat(), "--timeout", "2")

    code, out, err = await run(temporal, capsys, *report)

    assert code == 3 and out == ""
    assert err.strip() == (
        "cpplan report-missing: no worker answered the plan's status query within 2 s; the report was not sent"
    )
    history = await temporal.client.get_workflow_handle(workflows.workflow_id(plan_id)).fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]


@pytest.mark.parametrize("command", ["report-missing", "report-found", "report-death", "report-incident"])
async def test_a_report_dated_in_the_future_or_before_the_plan_is_not_sent(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any], command: str
) -> None:
    plan_id = demo_doc["plan_id"]  # its conference is today
    await cases.start_plan(temporal.client, demo_doc)
    extra = ("--kind", "new-incident") if command == "report-incident" else ()
    today = today_in_london()

    for day, reason in (
        (today + timedelta(days=1), "is in the future"),
        (today - timedelta(days=1), "before the plan"),
    ):
        code, out, err = await run(temporal, capsys, command, plan_id, "--date", day.isoformat(), *extra)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1
        assert err.startswith(f"cpplan {command}: refused: date: {day.isoformat()} ") and reason in err

    status = (await cases.query_status(temporal.client, plan_id)).as_json()
    assert status["state"] == "active" and not status["missing"]
    signalled = {"missing", "found", "death", "incident", "unreadable-message"}
    assert not [h for h in status["history"] if h["event"] in signalled]


async def test_an_escalation_by_someone_not_among_the_plans_managers_is_not_sent(
    temporal: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    demo_doc: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plan could only keep it as unreadable and tell people: the command refuses it, naming
    the plan's managers, and sends nothing; so is an escalation to someone unknown or to oneself.
    One of them escalates to a manager of the organisation's directory as before."""
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, demo_doc)
    lead = demo_doc["lead_social_worker"]["id"]
    manager = demo_doc["team_manager"]["id"]

    code, out, err = await run(temporal, capsys, "escalate", plan_id, "--by", lead, "--to", "hos-1")
    assert code == cli.EXIT_FORBIDDEN and out == ""  # not the lead's to send: a manager's decision
    assert err.startswith(f"cpplan escalate: refused: by: {lead!r} is not one of this plan's managers (")
    assert manager in err and "nothing was sent" in err
    history = await temporal.client.get_workflow_handle(workflows.workflow_id(plan_id)).fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]

    for to, reason in (
        ("hos-1", "no staff directory is set"),
        (manager, "is who escalates"),
        ("par-demo", "is not one of this plan's managers"),
    ):
        code, out, err = await run(temporal, capsys, "escalate", plan_id, "--by", manager, "--to", to)
        assert code == 1 and err.startswith("cpplan escalate: refused: to: ") and reason in err, err
    directory = tmp_path / "staff.txt"
    directory.write_text("hos-1 head-of-service\nsw-9 social-worker\n")
    monkeypatch.setenv("CPPLAN_STAFF_FILE", str(directory))
    code, out, err = await run(temporal, capsys, "escalate", plan_id, "--by", manager, "--to", "sw-9")
    assert code == 1 and "nor a manager in the staff directory" in err, err
    history = await temporal.client.get_workflow_handle(workflows.workflow_id(plan_id)).fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]

    code, out, err = await run(temporal, capsys, "escalate", plan_id, "--by", manager, "--to", "hos-1")
    assert code == 0, err

    async def escalated() -> None:
        status = (await cases.query_status(temporal.client, plan_id)).as_json()
        assert [h["event"] for h in status["history"]].count("escalated-by-manager") == 1

    await eventually(escalated)
