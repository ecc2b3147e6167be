"""`cpplan overdue` and `cpplan due`: one row per obligation from the read model, earliest due
first, with who answers for it, filtered by team, worker and profile."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.read_model import save_plan
from starters import cli
from starters.cases import today_in_london
from tests.activities.activity_test_support import run_activity
from tests.activities.databases import fresh_database
from workflows.activity_io import PlanSnapshot
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.policy import get_profile


@pytest.fixture
def read_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path, monkeypatch) as url:
        yield url


def working_days(n: int) -> str:
    """n working days from today in London's calendar (negative: before)."""
    today = today_in_london()
    profile = get_profile("london")
    calendar = WorkingCalendar(non_working_days(profile.region, today.year - 1, today.year + 1, profile.closure_days))
    return calendar.add_working_days(today, n).isoformat()


async def save(
    plan_id: str, lead: str, team: str, obligations: list[tuple[str, str, str]], state: str = "active"
) -> None:
    status: dict[str, Any] = {
        "plan_id": plan_id,
        "policy": "london",
        "state": state,
        "icpc_date": (today_in_london() - timedelta(days=60)).isoformat(),
        "lead_social_worker": lead,
        "team_manager": team,
        "obligations": [
            {"id": i, "kind": i.rsplit("-", 1)[0], "due": due, "status": st, "description": i, "rule": "test"}
            for i, due, st in obligations
        ],
        "overdue_count": sum(1 for _, _, st in obligations if st in ("overdue", "escalated")),
        "escalations": [],
        "next_due": None,
        "history": [],
    }
    await run_activity(save_plan, PlanSnapshot(plan_id=plan_id, status=status, updated_at=datetime.now(UTC)))


@pytest.fixture
async def caseload(read_model: str) -> None:
    await save(
        "P1", "sw-1", "tm-1", [("visit-2", working_days(-1), "overdue"), ("core-group-1", working_days(3), "pending")]
    )
    await save(
        "P2",
        "sw-2",
        "tm-1",
        [("visit-1", working_days(-5), "escalated"), ("review-conference-1", working_days(30), "pending")],
    )
    await save("P3", "sw-3", "tm-2", [("visit-1", working_days(10), "pending"), ("notes-1", working_days(-2), "met")])
    # Ended with nothing left owed: off every list (an ended plan that still owes its conference
    # record stays on them: tests/activities/test_activity_read_model.py).
    await save("P4", "sw-4", "tm-2", [("visit-1", working_days(-3), "met")], state="ended")


async def rows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[tuple[str, str]]:
    capsys.readouterr()
    assert await cli.run([*argv, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    if argv[0] == "overdue":  # one object per plan, its overdue obligations inside (the contract's shape)
        return [(p["plan_id"], o["obligation_id"]) for p in found for o in p["overdue"]]
    return [(r["plan_id"], r["obligation_id"]) for r in found]


async def test_overdue_earliest_first_with_who(caseload: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await rows(capsys, "overdue") == [("P2", "visit-1"), ("P1", "visit-2")]  # P4 has ended
    assert await rows(capsys, "overdue", "--worker", "sw-1") == [("P1", "visit-2")]
    assert await rows(capsys, "overdue", "--team", "tm-2") == []
    assert await cli.run(["overdue"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == [
        "DUE",
        "TODAY",
        "PLAN",
        "OBLIGATION",
        "STATUS",
        "LEAD",
        "SOCIAL",
        "WORKER",
        "TEAM",
        "MANAGER",
        "POLICY",
    ]
    assert "sw-2" in text and "tm-1" in text
    # Dates in words and how late: P1's visit was due a working day ago.
    p1 = next(line for line in text.splitlines() if " P1 " in line)
    assert re.match(r"\w{3} \d{1,2} \w{3} \d{4}\s+\d+ days? overdue\s+P1\s", p1), p1


async def test_due_within_working_days(caseload: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert await rows(capsys, "due") == [
        ("P2", "visit-1"),
        ("P1", "visit-2"),
        ("P1", "core-group-1"),
        ("P3", "visit-1"),
    ]
    assert await rows(capsys, "due", "--within", "9") == [("P2", "visit-1"), ("P1", "visit-2"), ("P1", "core-group-1")]
    assert await rows(capsys, "due", "--within", "3", "--team", "tm-1", "--policy", "london") == [
        ("P2", "visit-1"),
        ("P1", "visit-2"),
        ("P1", "core-group-1"),
    ]
    assert await rows(capsys, "due", "--policy", "darlington") == []
