"""The README is executable: every command of its quick start and of its plan-life table runs
against a Temporal server and the real worker, as written, with its placeholders filled in
(README, "The plan's whole life": P the plan, D a date, LATER a date still to come). The server
is the time-skipping test server: its clock follows this machine's, so CI's clock-ahead runs
(.ci/run, libfaketime) run the README too; the dev server's would not.

The quick start runs on the demo plan `make run` starts; the table on `examples/plan.json` with
its conference moved to a recent working day (the other example documents likewise), in the
folder the README's paths are relative to."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

import workflows
from starters import cases, cli
from starters.cases import today_in_london
from starters.dev import demo_document
from tests.cli.test_cli_server import run
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.policy import get_profile

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# Commands the table shows side by side as alternatives: after the first has run, the second is
# refused, in the words the README gives.
REFUSED_AFTER_THE_OTHER = {"decline-early-review": "no early review has been asked for"}


def quick_start(text: str) -> list[str]:
    block = text.split("While it runs", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip().startswith("cpplan ")]


def plan_life(text: str) -> list[str]:
    """Each command of the plan-life table, in order, as written."""
    table = text.split("The plan's whole life", 1)[1].split("\n\n", 2)[1]
    found = []
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        found += [c for c in re.findall(r"`([^`]+)`", cells[1]) if c.startswith("cpplan ")]
    return found


def argv(command: str, fill: dict[str, str]) -> list[str]:
    """A table command as one concrete argv: optional parts in [...] included, the first of
    alternatives a|b taken, placeholders filled (whole words, or parts between colons)."""
    command = command.replace("\\|", "|").replace("[", " ").replace("]", " ")
    words = [word.split("|", 1)[0] for word in command.split()[1:]]
    # A placeholder may also be a part of a key (`P:missing-1:sw-1`).
    return [":".join(fill.get(part, part) for part in word.split(":")) for word in words]


def recent_working_day(policy: str, today: date, back: int) -> str:
    profile = get_profile(policy)
    calendar = WorkingCalendar(non_working_days(profile.region, today.year - 1, today.year + 1, profile.closure_days))
    return calendar.add_working_days(today, -back).isoformat()


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/ with its dates a few working days back, as the working folder."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    today = today_in_london()
    for name, field in (("plan.json", "icpc_date"), ("complaint.json", "received_date")):
        path = tmp_path / "examples" / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc[field] = recent_working_day(doc["policy"], today, 3)
        path.write_text(json.dumps(doc), encoding="utf-8")
    jsonl = tmp_path / "examples" / "caseload.jsonl"
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["icpc_date"] = recent_working_day(row["policy"], today, 3)
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    csv = tmp_path / "examples" / "caseload.csv"
    csv.write_text(re.sub(r"\d{4}-\d{2}-\d{2}", recent_working_day("london", today, 3), csv.read_text()))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "examples"


def test_the_readme_names_its_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(quick_start(text)) >= 3
    commands = plan_life(text)
    assert len(commands) >= 18
    # Every message sub-command appears in the table.
    assert set(cli.MESSAGE_COMMANDS) <= {c.split()[1] for c in commands}


async def test_quick_start_on_the_demo_plan(temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    await cases.start_plan(temporal.client, demo_document(today_in_london()))
    for command in quick_start(README.read_text(encoding="utf-8")):
        code, out, err = await run(temporal, capsys, *command.split()[1:])
        assert code == 0, f"{command}: {err}"
        assert out.strip(), command


async def test_the_plan_life_table(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], examples: Path
) -> None:
    start = json.loads((examples / "plan.json").read_text(encoding="utf-8"))
    fill = {"D": today_in_london().isoformat(), "LATER": (today_in_london() + timedelta(days=14)).isoformat()}
    plan_number = 0

    async def fresh_plan() -> None:
        nonlocal plan_number
        plan_number += 1
        doc = {**start, "plan_id": f"{start['plan_id']}-{plan_number}"}
        await cases.start_plan(temporal.client, doc)
        fill["P"] = doc["plan_id"]

    fill["P"] = start["plan_id"]
    for command in plan_life(README.read_text(encoding="utf-8")):
        words = argv(command, fill)
        if words[0] != "start":
            described = await temporal.client.get_workflow_handle(workflows.workflow_id(fill["P"])).describe()
            over = described.status != WorkflowExecutionStatus.RUNNING
            if not over and words[0] == "record-review-conference":  # a conference needs a plan not yet ended
                over = ((await cases.query_status(temporal.client, fill["P"])).as_json())["state"] != "active"
            if over:
                await fresh_plan()
                words = argv(command, fill)
        code, out, err = await run(temporal, capsys, *words)
        refusal = REFUSED_AFTER_THE_OTHER.get(words[0])
        if refusal:
            assert code == 1 and refusal in err, f"{command}: {err}"
        else:
            assert code == 0, f"{' '.join(words)}: {err}"
    final: dict[str, Any] = (await cases.query_status(temporal.client, fill["P"])).as_json()
    assert final["state"] == "ended"  # the table ends with the plan's end
    assert plan_number >= 1


async def test_the_example_documents(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], examples: Path
) -> None:
    for command in (
        "complaint start examples/complaint.json",
        "complaint status complaint-0001",
        "import examples/caseload.jsonl",
        "import examples/caseload.csv",
    ):
        code, out, err = await run(temporal, capsys, *command.split())
        assert code == 0, f"{command}: {err}"
