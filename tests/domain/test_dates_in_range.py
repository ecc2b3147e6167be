"""Dates outside 1900-2100 are refused wherever input is parsed, as a refusal naming the field
(never an overflow deep in the calendar); plans whose history predates the bound
(`dates-1900-2100`) and states carried from them read any year, as they did."""

from dataclasses import replace

import pytest

from tests.domain.test_engine_refusals import NOW, refused
from tests.helpers.engine_plans import new_plan, start_doc
from workflows import models as m
from workflows.plan_rules.state import LATEST

RANGE = "must be a date between 1900-01-01 and 2100-12-31"


@pytest.mark.parametrize(
    ("message", "payload", "field"),
    [
        ("record_visit", {"date": "9999-12-31", "seen": True}, "date"),
        ("record_visit", {"date": "1899-12-31", "seen": True}, "date"),
        ("schedule_meeting", {"kind": "core_group", "date": "9999-12-31"}, "date"),
        ("record_core_group", {"date": "2026-11-30", "next_date": "2101-01-01"}, "next_date"),
        (
            "change_lead_social_worker",
            {"person": {"id": "sw-2"}, "cover_until": "9999-12-31", "by": "tm-1"},
            "cover_until",
        ),
    ],
)
def test_a_message_date_outside_the_range_is_refused(message: str, payload: dict, field: str) -> None:
    refused(new_plan(), message, payload, NOW, field, RANGE)


def test_a_plan_from_before_the_bound_reads_any_year_as_it_did() -> None:
    plan = new_plan()
    plan.patches = replace(LATEST, dates_in_range=False)
    # The rule that was there before answers, as it did then.
    refused(plan, "record_visit", {"date": "9999-12-31", "seen": True}, NOW, "date", "9999-12-31 is in the future")


def test_a_start_outside_the_range_is_refused_naming_each_field() -> None:
    doc = start_doc(icpc="9999-12-31", first_review_date="1800-01-01")
    with pytest.raises(m.Refusal) as err:
        m.parse(m.PlanStart, doc)
    assert ("icpc_date", RANGE) in err.value.problems and ("first_review_date", RANGE) in err.value.problems
    # Read back from a saved state, or for a history recorded before the bound: as it was.
    assert m.PlanStart.model_validate(start_doc(icpc="2150-01-05")).icpc_date.year == 2150
    assert m.parse(m.PlanStart, start_doc(icpc="2150-01-05"), any_year=True).icpc_date.year == 2150


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "2101-01-01", "1899-12-31"])
def test_command_line_dates_outside_the_range_are_refused(text: str) -> None:
    with pytest.raises(m.Refusal) as err:
        m.iso_day("icpc", text)
    assert err.value.problems == [("icpc", RANGE)]
    assert m.iso_day("icpc", "2100-12-31").year == 2100
