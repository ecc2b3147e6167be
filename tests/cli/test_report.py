"""`cpplan report`: obligations due in a period per team or profile, and the census figure
(reviews held within timescale), from the read model; CSV and a PNG chart. Runs on SQLite and,
when CPPLAN_TEST_POSTGRES_URL is set, on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from activities.read_model import save_plan
from starters import cli
from starters.report import build_report
from tests.activities.activity_test_support import run_activity
from tests.activities.databases import backend_params, fresh_database
from workflows.activity_io import PlanSnapshot

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured

T0 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
PERIOD = ("--from", "2026-01-01", "--to", "2026-03-31")


@pytest.fixture(params=backend_params())
def read_model(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, monkeypatch) as url:
        yield url


def ob(
    ident: str, kind: str, due: str, status: str, met_on: str | None = None, limit: str | None = None
) -> dict[str, Any]:
    return {
        "id": ident,
        "kind": kind,
        "due": due,
        "status": status,
        "description": kind,
        "rule": "test",
        **({"met_on": met_on} if met_on else {}),
        **({"limit": limit} if limit else {}),
    }


async def save(plan_id: str, policy: str, team: str | None, obligations: list[dict[str, Any]]) -> None:
    status = {
        "plan_id": plan_id,
        "policy": policy,
        "state": "active",
        "icpc_date": "2025-11-03",
        "lead_social_worker": "sw-1",
        "obligations": obligations,
        "overdue_count": 0,
        "escalations": [],
        "next_due": None,
        "history": [],
    }
    if team is not None:
        status["team_manager"] = team
    await run_activity(save_plan, PlanSnapshot(plan_id=plan_id, status=status, updated_at=T0))


@pytest.fixture
async def caseload(read_model: str) -> None:
    await save(
        "A",
        "london",
        "tm-a",
        [
            ob("visit-0", "visit", "2025-12-31", "met", "2025-12-30"),  # before the period
            ob("visit-1", "visit", "2026-01-10", "met", "2026-01-09"),
            ob("visit-2", "visit", "2026-02-10", "met-late", "2026-02-12"),
            ob("core-group-1", "core-group", "2026-03-31", "overdue"),  # the last day counts
            ob("review-conference-1", "review-conference", "2026-02-01", "met", "2026-02-01", limit="2026-02-03"),
        ],
    )
    await save(
        "B",
        "darlington",
        "tm-a",
        [
            # Held after the date set for it, inside the statutory limit: late for the plan, within
            # timescale for the census.
            ob("review-conference-1", "review-conference", "2026-03-01", "met-late", "2026-03-05", limit="2026-03-10"),
            ob("visit-1", "visit", "2026-04-01", "pending"),  # after the period
        ],
    )
    await save(
        "C",
        "london",
        "tm-b",
        [
            ob("review-conference-1", "review-conference", "2026-03-15", "met-late", "2026-03-20", limit="2026-03-15"),
            ob("signature-1-hv-1", "signature", "2026-01-05", "escalated"),
        ],
    )
    await save(
        "D",
        "london",
        None,
        [
            ob("review-conference-1", "review-conference", "2026-03-20", "pending", limit="2026-03-20"),
        ],
    )


def table(text: str) -> dict[str, dict[str, str]]:
    return {row["group"]: row for row in csv.DictReader(io.StringIO(text))}


def figures(row: dict[str, str]) -> tuple[str, ...]:
    return (
        row["due"],
        row["met_on_time"],
        row["met_late"],
        row["overdue"],
        row["not_yet_due"],
        row["reviews_limit_passed"],
        row["reviews_within_timescale"],
        row["reviews_within_timescale_pct"],
    )


async def test_per_team_csv_and_chart(caseload: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path, png_path = tmp_path / "out" / "report.csv", tmp_path / "out" / "report.png"

    code = await cli.run(["report", *PERIOD, "--csv", str(csv_path), "--png", str(png_path)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = csv_path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        "from,to,by,group,due,met_on_time,met_late,overdue,not_yet_due,reviews_limit_passed,"
        "reviews_within_timescale,reviews_within_timescale_pct"
    )
    rows = table(text)
    assert list(rows) == ["(none)", "tm-a", "tm-b", "(all)"]
    assert {(r["from"], r["to"], r["by"]) for r in rows.values()} == {("2026-01-01", "2026-03-31", "team")}
    assert figures(rows["tm-a"]) == ("5", "2", "2", "1", "0", "2", "2", "100.0")
    assert figures(rows["tm-b"]) == ("2", "0", "1", "1", "0", "1", "0", "0.0")
    assert figures(rows["(none)"]) == ("1", "0", "0", "1", "0", "1", "0", "0.0")
    assert figures(rows["(all)"]) == ("8", "2", "3", "3", "0", "4", "2", "50.0")
    # With the CSV in a file, stdout has the same figures for a person to read.
    assert "reviews held within timescale: 2 of 4 (50.0%; only reviews whose limit has passed)" in captured.out
    png = png_path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


async def test_per_profile_to_stdout(caseload: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = await cli.run(["report", *PERIOD, "--by", "policy"])

    out = capsys.readouterr().out
    assert code == 0
    rows = table(out)  # neither --csv nor --png, and not a terminal: the CSV is the output
    assert list(rows) == ["darlington", "london", "(all)"]
    assert figures(rows["darlington"]) == ("1", "0", "1", "0", "0", "1", "1", "100.0")
    assert figures(rows["london"]) == ("7", "2", "2", "3", "0", "3", "1", "33.3")
    assert rows["london"]["by"] == "policy"


async def test_a_table_on_a_terminal_the_csv_when_asked(
    caseload: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert await cli.run(["report", *PERIOD, "--by", "policy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("obligations due ") and "POLICY" in out and "," not in out.splitlines()[1]
    assert await cli.run(["report", *PERIOD, "--by", "policy", "--csv"]) == 0
    assert list(table(capsys.readouterr().out)) == ["darlington", "london", "(all)"]


async def test_a_period_without_obligations(read_model: str, tmp_path: Path) -> None:
    report = build_report(date(2030, 1, 1), date(2030, 12, 31))

    assert report.lines == []
    assert report.rows() == [["2030-01-01", "2030-12-31", "team", "(all)", 0, 0, 0, 0, 0, 0, 0, ""]]
    assert "no review conference due in the period has reached its limit" in report.census_sentence()

    code = await cli.run(["report", "--from", "2030-01-01", "--to", "2030-12-31", "--png", str(tmp_path / "empty.png")])
    assert code == 0
    assert (tmp_path / "empty.png").stat().st_size > 0


async def test_a_period_ending_before_it_starts_is_refused(read_model: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = await cli.run(["report", "--from", "2026-03-31", "--to", "2026-01-01"])

    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == "cpplan report: refused: to: 2026-01-01 is before --from 2026-03-31"


async def test_a_running_period_separates_overdue_from_not_yet_due(read_model: str) -> None:
    """Today splits what is not met: before it, overdue; from it on, not yet due. A review whose
    limit has not passed is left out of the census figure, even one already held on time."""
    today = date(2026, 2, 10)
    await save(
        "E",
        "london",
        "tm-e",
        [
            ob("visit-1", "visit", "2026-02-09", "overdue"),
            ob("visit-2", "visit", "2026-02-10", "pending"),
            ob("review-conference-1", "review-conference", "2026-02-05", "pending", limit="2026-02-09"),
            ob("review-conference-2", "review-conference", "2026-02-20", "met", "2026-02-06", limit="2026-02-20"),
        ],
    )
    report = build_report(date(2026, 2, 1), date(2026, 2, 28), today=today)

    (line,) = report.lines
    assert (line.overdue, line.not_yet_due, line.met_on_time) == (2, 1, 1)
    assert (line.reviews_limit_passed, line.reviews_within_timescale) == (1, 0)
    assert "0 of 1" in report.census_sentence()


async def test_json(caseload: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.run(["report", *PERIOD, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["group"] for r in rows] == ["(none)", "tm-a", "tm-b", "(all)"]
    assert (rows[-1]["overdue"], rows[-1]["reviews_limit_passed"], rows[-1]["reviews_within_timescale_pct"]) == (
        3,
        4,
        "50.0",
    )
