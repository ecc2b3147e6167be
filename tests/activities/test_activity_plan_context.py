"""`load_plan_context`: the profile and the region's non-working days, or a non-retryable error."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.plan_context import load_plan_context
from tests.activities.activity_test_support import run_activity
from workflows.activity_io import PlanContextRequest


async def test_isle_of_man_has_the_tt_bank_holiday() -> None:
    context = await run_activity(
        load_plan_context, PlanContextRequest(policy="isle-of-man", first_year=2026, last_year=2026)
    )

    assert context.profile.id == "isle-of-man"
    assert date(2026, 6, 5) in context.non_working_days  # TT Bank Holiday, Isle of Man only


async def test_london_has_christmas_and_not_the_tt_holiday() -> None:
    context = await run_activity(
        load_plan_context, PlanContextRequest(policy="london", first_year=2025, last_year=2027)
    )

    assert date(2026, 12, 25) in context.non_working_days
    assert date(2026, 6, 5) not in context.non_working_days
    assert context.non_working_days == sorted(context.non_working_days)
    assert {d.year for d in context.non_working_days} == {2025, 2026, 2027}


async def test_an_unknown_policy_is_not_retried() -> None:
    with pytest.raises(ApplicationError) as raised:
        await run_activity(load_plan_context, PlanContextRequest(policy="atlantis", first_year=2026, last_year=2026))

    assert raised.value.type == "UnknownPolicy"
    assert raised.value.non_retryable
    assert "atlantis" in str(raised.value)


async def test_a_broken_profile_file_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ruritania.toml").write_text('id = "ruritania"\nname = "Ruritania"\n', encoding="utf-8")
    monkeypatch.setenv("CPPLAN_POLICY_DIR", str(tmp_path))

    with pytest.raises(ApplicationError) as raised:
        await run_activity(load_plan_context, PlanContextRequest(policy="ruritania", first_year=2026, last_year=2026))

    assert raised.value.type == "InvalidPolicy"
    assert raised.value.non_retryable
    assert "ruritania.toml" in str(raised.value)
