"""A message sent twice with one request id is applied once, on the real dev server (the
time-skipping test server does not keep signal request ids); a report without one is never
dropped as a repeat."""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from starters import cases
from starters.cases import today_in_london
from tests.cli.test_cli_server import run
from tests.helpers import eventually


def events(status: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [h for h in status["history"] if h["event"] == name]


async def test_the_same_visit_sent_twice_is_recorded_once(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    visit = ("record-visit", plan_id, "--date", today_in_london().isoformat(), "--seen", "--json")

    first = await run(dev_server, capsys, *visit)
    second = await run(dev_server, capsys, *visit)

    assert first[0] == 0 and second[0] == 0, (first[2], second[2])
    assert json.loads(first[1])["request_id"] == json.loads(second[1])["request_id"]
    status = (await cases.query_status(dev_server.client, plan_id)).as_json()
    assert len(events(status, "visit")) == 1

    # The same values under a request id of the caller's own are another request: a second
    # visit that day, refused unless it is said to be another (the same visit typed twice).
    code, out, err = await run(dev_server, capsys, *visit, "--request-id", "case-system-4711")
    assert code == 1 and "again: a visit on " in err and "is already recorded" in err, err
    assert len(events((await cases.query_status(dev_server.client, plan_id)).as_json(), "visit")) == 1
    code, out, err = await run(dev_server, capsys, *visit, "--again", "--request-id", "case-system-4711")
    assert code == 0, err
    assert json.loads(out)["request_id"].startswith("record_visit:case-system-4711:")
    status = (await cases.query_status(dev_server.client, plan_id)).as_json()
    assert len(events(status, "visit")) == 2

    # The caller's request id reused for other values is another request, never answered with
    # the first one's result: a not-seen visit under the same id is recorded too.
    not_seen = ("record-visit", plan_id, "--date", today_in_london().isoformat(), "--no-seen", "--again", "--json")
    code, out, err = await run(dev_server, capsys, *not_seen, "--request-id", "case-system-4711")
    assert code == 0, err
    status = (await cases.query_status(dev_server.client, plan_id)).as_json()
    assert [v.get("seen") for v in events(status, "visit")] == [True, True, False]


async def test_a_signal_sent_twice_with_one_request_id_is_kept_once(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    escalate = ("escalate", plan_id, "--by", "tm-demo", "--to", "sm-demo", "--request-id", "esc-1")

    assert (await run(dev_server, capsys, *escalate))[0] == 0
    assert (await run(dev_server, capsys, *escalate))[0] == 0

    status = (await cases.query_status(dev_server.client, plan_id)).as_json()
    assert len(events(status, "escalated-by-manager")) == 1, status["history"]


async def test_reports_without_a_request_id_are_never_dropped_as_repeats(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    """Missing, found and missing again the same day: the second report is a new event."""
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    today = today_in_london().isoformat()
    for command in ("report-missing", "report-found", "report-missing"):
        code, out, err = await run(dev_server, capsys, command, plan_id, "--date", today)
        assert code == 0, err

    async def kept() -> None:
        status = (await cases.query_status(dev_server.client, plan_id)).as_json()
        assert status["missing"]
        assert len([h for h in status["history"] if "missing" in h["event"]]) == 2, status["history"]

    await eventually(kept)


async def test_the_http_api_keeps_a_report_retried_with_its_idempotency_key_once(
    dev_server: WorkflowEnvironment, demo_doc: dict[str, Any]
) -> None:
    """The API sends messages the command line's way: a report retried with the same key is
    kept once, one under another key is another report."""
    from starters.cases import PLANS
    from starters.web.gateway import Gateway
    from worker.identity import Identity

    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    gateway = Gateway(dev_server.client, deadline_s=20)
    worker = Identity(demo_doc["lead_social_worker"]["id"], frozenset({"social-worker"}))
    incident = {"kind": "new-incident", "date": today_in_london().isoformat()}
    spec = PLANS.commands["report-incident"]

    for key in ("incident-7", "incident-7", "incident-8"):
        assert await gateway.send(worker, plan_id, spec, incident, key) == (202, {"accepted": "report_incident"})

    async def kept_twice() -> None:
        status = (await cases.query_status(dev_server.client, plan_id)).as_json()
        assert len(events(status, "incident")) == 2, status["history"]

    await eventually(kept_twice)
