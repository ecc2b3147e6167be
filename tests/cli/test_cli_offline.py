"""Commands that need no Temporal server: the timetable, profiles, and a start refused before
anything is contacted."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from starters.cli import main
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.policy import get_profile

NOWHERE = "127.0.0.1:1"  # nothing listens here: a command that connects fails fast


def schedule_json(capsys: pytest.CaptureFixture[str], policy: str, icpc: str) -> dict:
    assert main(["schedule", "--policy", policy, "--icpc", icpc, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def due(doc: dict, kind: str) -> str:
    return next(o["due"] for o in doc["obligations"] if o["kind"] == kind)


def test_schedule_darlington_over_christmas(capsys: pytest.CaptureFixture[str]) -> None:
    doc = schedule_json(capsys, "darlington", "2026-12-18")
    assert doc["policy"] == "darlington" and doc["icpc_date"] == "2026-12-18"
    assert due(doc, "first-core-group") == "2027-01-06"  # 10 working days, bank holidays skipped
    assert due(doc, "review-conference") == "2027-03-19"  # 91 days
    assert all(set(o) == {"kind", "due", "rule"} for o in doc["obligations"])


def test_schedule_isle_of_man(capsys: pytest.CaptureFixture[str]) -> None:
    doc = schedule_json(capsys, "isle-of-man", "2026-05-29")
    assert due(doc, "first-core-group") == "2026-06-15"


def test_schedule_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--policy", "darlington", "--icpc", "2026-12-18"]) == 0
    out = capsys.readouterr().out
    assert "first-core-group" in out and "Wed 6 Jan 2027" in out
    # In date order, dates in words.
    days = [datetime.strptime(" ".join(line.split()[:4]), "%a %d %b %Y") for line in out.splitlines()[2:]]
    assert days == sorted(days) and len(days) >= 4


def test_console_script() -> None:
    script = Path(sys.executable).parent / "cpplan"
    done = subprocess.run(
        [str(script), "schedule", "--policy", "darlington", "--icpc", "2026-12-18", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert due(json.loads(done.stdout), "review-conference") == "2027-03-19"


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "--policy", "atlantis", "--icpc", "2026-12-18"],
        ["schedule", "--policy", "london", "--icpc", "18/12/2026"],
        ["policy", "atlantis"],
    ],
)
def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_unknown_policy_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--policy", "atlantis", "--icpc", "2026-12-18"]) == 1
    assert "atlantis" in capsys.readouterr().err


def test_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policies", "--json"]) == 0
    ids = {p["id"] for p in json.loads(capsys.readouterr().out)}
    assert {"london", "isle-of-man", "darlington", "tees", "birmingham"} <= ids
    assert main(["policy", "darlington"]) == 0
    out = capsys.readouterr().out
    assert "first core group" in out and "source:" in out


def test_invalid_start_is_refused_without_a_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = {
        "plan_id": "has spaces",
        "child_ref": "c-1",
        "policy": "london",
        "icpc_date": "2026-01-05",
        "category": "boredom",
        "lead_social_worker": {"id": "sw-1"},
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert main(["start", str(path), "--address", NOWHERE]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    for field in ("plan_id", "category", "team_manager"):
        assert field in err
    assert "reach" not in err and "connect" not in err.lower()


def test_future_conference_is_refused_without_a_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = json.loads((Path(__file__).resolve().parents[2] / "starters" / "demo_plan.json").read_text())
    doc["icpc_date"] = "2099-01-04"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["start", str(path), "--address", NOWHERE]) != 0
    err = capsys.readouterr().err
    assert "icpc_date" in err and "future" in err


def test_bad_message_is_refused_without_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["record-review-conference", "p-1", "--date", "2026-01-05", "--outcome", "adjourned", "--address", NOWHERE]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "outcome" in err and "reach" not in err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "p-1", "--address", NOWHERE]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot reach Temporal" in err


def test_console_script_unreachable_server_is_one_line() -> None:
    # In a process of its own the Temporal client's threads meet interpreter teardown: the
    # command must still end with its one line and status 1, not an abort.
    script = Path(sys.executable).parent / "cpplan"
    done = subprocess.run(
        [str(script), "status", "p-1", "--address", NOWHERE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot reach Temporal" in done.stderr


def test_schedule_previews_a_pre_birth_plan(capsys: pytest.CaptureFixture[str]) -> None:
    """002 'Unborn Child Protection Conference': the core group meets before the birth, on a
    working day. Dates a year ahead of today: a birth expected on a Monday."""
    icpc = date.today() + timedelta(days=365)
    icpc += timedelta(days=(7 - icpc.weekday()) % 7)  # a Monday
    birth = icpc + timedelta(days=7)
    args = ["schedule", "--policy", "darlington", "--icpc", icpc.isoformat(), "--json"]
    assert main([*args, "--conference-kind", "pre-birth", "--expected-birth-date", birth.isoformat()]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["conference_kind"] == "pre-birth" and doc["expected_birth_date"] == birth.isoformat()
    profile = get_profile("darlington")
    cal = WorkingCalendar(non_working_days(profile.region, icpc.year - 1, icpc.year + 1, profile.closure_days))
    assert due(doc, "first-core-group") == cal.add_working_days(birth, -1).isoformat()
    assert (
        main(["schedule", "--policy", "darlington", "--icpc", icpc.isoformat(), "--conference-kind", "pre-birth"]) != 0
    )
    assert "expected_birth_date" in capsys.readouterr().err
