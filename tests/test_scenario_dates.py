"""The scenario-date pickers (tests/helpers/scenario_dates.py), against a stand-in for the server's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.helpers.scenario_dates import easter_sunday, good_friday, isleap, next_weekday, year_when


class Clock:
    """Only what the pickers ask of a WorkflowEnvironment: its current time."""

    def __init__(self, now: datetime):
        self.now = now

    async def get_current_time(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("year", "easter"), [(2024, "03-31"), (2025, "04-20"), (2027, "03-28"), (2038, "04-25"), (2285, "03-22")]
)
def test_easter_sunday(year, easter):
    assert easter_sunday(year).isoformat() == f"{year}-{easter}"
    assert good_friday(year).weekday() == 4


async def test_the_year_is_the_first_with_the_shape_still_ahead_of_the_clock():
    # 18 Dec 2026 is a Friday: chosen on 30 Nov 2026, and on the morning of the day itself.
    assert await year_when(Clock(datetime(2026, 11, 30, 12, tzinfo=UTC)), "Fri 18 Dec") == 2026
    assert await year_when(Clock(datetime(2026, 12, 18, 8, tzinfo=UTC)), "Fri 18 Dec") == 2026
    # From 11:00 that day it is past: the next year whose 18 December is a Friday.
    assert await year_when(Clock(datetime(2026, 12, 18, 11, tzinfo=UTC)), "Fri 18 Dec") == 2037
    # With a further condition on the year: 29 Nov a Monday, and the next year a leap year.
    leap_next = {"also": lambda y: isleap(y + 1)}
    assert await year_when(Clock(datetime(2027, 1, 1, tzinfo=UTC)), "Mon 29 Nov", **leap_next) == 2027
    assert await year_when(Clock(datetime(2027, 12, 1, tzinfo=UTC)), "Mon 29 Nov", **leap_next) == 2055


async def test_next_weekday():
    assert await next_weekday(Clock(datetime(2026, 11, 30, 8, tzinfo=UTC)), "Mon") == date(2026, 11, 30)
    assert await next_weekday(Clock(datetime(2026, 11, 30, 12, tzinfo=UTC)), "Mon") == date(2026, 12, 7)
    assert await next_weekday(Clock(datetime(2026, 11, 30, 12, tzinfo=UTC)), "Fri") == date(2026, 12, 4)
