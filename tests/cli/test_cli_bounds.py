"""Input past what the command line can mean is one line and an exit status, never a traceback
or minutes of work: a date outside 1900-2100 (to `start`, `schedule` and every date option),
`due --within` past a year, a start document nested too deeply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from starters.cli import main
from tests.cli.test_cli_offline import NOWHERE

RANGE = "must be a date between 1900-01-01 and 2100-12-31"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31", "2101-01-01", "0001-01-01"])
def test_schedule_refuses_a_date_outside_1900_to_2100(capsys: pytest.CaptureFixture[str], day: str) -> None:
    assert main(["schedule", "--policy", "london", "--icpc", day]) == 1
    assert _one_line(capsys) == f"cpplan schedule: refused: icpc: {RANGE}"
    birth = ["--conference-kind", "pre-birth", "--expected-birth-date", day]
    assert main(["schedule", "--policy", "london", "--icpc", "2030-01-07", *birth]) == 1
    assert _one_line(capsys) == f"cpplan schedule: refused: expected_birth_date: {RANGE}"


def test_schedule_takes_the_last_year_in_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--policy", "london", "--icpc", "2100-06-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["icpc_date"] == "2100-06-01"


def test_start_refuses_an_icpc_in_9999_before_connecting(
    capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any], write_doc: Any
) -> None:
    path = write_doc({**demo_doc, "icpc_date": "9999-12-31"})
    assert main(["start", path, "--address", NOWHERE]) == 1
    assert _one_line(capsys) == f"cpplan start: refused: icpc_date: {RANGE}"


def test_a_message_date_in_9999_is_refused_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["schedule-meeting", "p-1", "--kind", "core_group", "--date", "9999-12-31", "--address", NOWHERE]
    assert main(argv) == 1
    assert _one_line(capsys) == f"cpplan schedule-meeting: refused: date: {RANGE}"


def test_report_refuses_a_period_outside_the_range(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", "--from", "2026-01-01", "--to", "9999-12-31"]) == 1
    assert _one_line(capsys) == f"cpplan report: refused: to: {RANGE}"


def test_due_within_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["due", "--within", "99999"])
    assert stopped.value.code == 2
    line = _one_line(capsys)
    assert line.startswith("cpplan due: error: argument --within: must be 0 to 260 working days")


def test_a_start_document_nested_too_deeply_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["start", str(path), "--address", NOWHERE]) == 1
    assert _one_line(capsys) == f"cpplan start: {path}: not a plan start: its JSON nests too deeply"


def test_control_characters_typed_are_written_out_not_obeyed(capsys: pytest.CaptureFixture[str]) -> None:
    """An address typed with a terminal escape (here, one that retitles the window) is echoed
    back as text: the error stays one line and the terminal is sent no control character."""
    assert main(["status", "p-1", "--address", "\x1b]0;owned\x07127.0.0.1:1"]) == 1
    line = _one_line(capsys)
    assert line.startswith("cpplan status: cannot reach Temporal at \\x1b]0;owned\\x07127.0.0.1:1"), line
    assert all(c.isprintable() for c in line), line
