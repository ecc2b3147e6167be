"""The command line for the procedures' third round: `cpplan policy` says whose act meets each
clock and what it moves with, and the new message options reach a plan on a real (time-skipping)
Temporal test server with the real worker."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from starters import cases
from starters.cases import today_in_london
from starters.cli import main
from tests.cli.test_cli_server import run


def test_policy_lists_whose_act_meets_each_clock_and_what_it_moves_with(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "darlington"]) == 0
    out = capsys.readouterr().out
    bedroom = out.split("bedroom seen:")[1].split("\n\n")[0]
    # 002 'Seeing the Child': "at least every six weeks the lead social worker should have access to
    # where the child sleeps".
    assert "met by: the lead social worker (or whoever covers for them) only" in bedroom
    assert "where the child sleeps" in bedroom
    assert "moves with: the review conference: report to parents" in out
    assert main(["policy", "tees"]) == 0
    notes = capsys.readouterr().out.split("notes circulated:")[1].split("\n\n")[0]
    assert "moves with: the next core group: 2 weeks before it" in notes  # 003 §2
    assert main(["policy", "london", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["seen_alone"]["met_by"]["who"] == "lead-social-worker"  # 000 9.4.6
    assert doc["visit"]["met_by"]["who"] == "core-group"  # 000 9.3.30
    assert doc["moves_with"]["bedroom_seen"].startswith("the review conference")


async def test_a_review_conference_sets_intervals_and_records_attendance_from_the_command_line(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]
) -> None:
    """001 2.3 (the core group interval), 000 9.4.6 (seen alone at the conference's intervals), 004
    'Role of the Chair' (attendance): options derived from the message's new fields."""
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, {**demo_doc, "seen_alone_interval_weeks": 4})
    today = today_in_london()
    code, out, err = await run(
        temporal,
        capsys,
        "record-review-conference",
        plan_id,
        "--date",
        today.isoformat(),
        "--outcome",
        "continue",
        "--core-group-interval-weeks",
        "3",
        "--seen-alone-interval-weeks",
        "2",
        "--attended",
        "sw-demo,hv-demo",
        "--apologies",
        "tch-demo",
        "--json",
    )
    assert code == 0, err
    code, out, err = await run(temporal, capsys, "status", plan_id, "--json")
    assert code == 0, err
    status = json.loads(out)
    seen_alone = next(o for o in status["obligations"] if o["id"] == "seen-alone-1")
    assert seen_alone["due"] == (today + timedelta(weeks=2)).isoformat()
    events = {h["event"]: h for h in status["history"]}
    assert events["conference-attendance"]["apologies"] == ["tch-demo"]
    assert events["conference-set-intervals"]["core_group_interval_weeks"] == 3
    code, out, err = await run(
        temporal,
        capsys,
        "record-review-conference",
        plan_id,
        "--date",
        today.isoformat(),
        "--outcome",
        "continue",
        "--attended",
        "nobody-9",
    )
    assert code == 1 and "attended.0: 'nobody-9' is not one of this plan's people" in err


async def test_the_first_core_group_is_not_arranged_for_the_conference_day_from_the_command_line(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]
) -> None:
    """001 2.2: the first core group "should not be held immediately after the Child Protection
    Conference"."""
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, {**demo_doc, "policy": "isle-of-man"})
    code, out, err = await run(
        temporal, capsys, "schedule-meeting", plan_id, "--kind", "core_group", "--date", demo_doc["icpc_date"]
    )
    assert code == 1 and "not held on the conference day (001 2.2" in err
