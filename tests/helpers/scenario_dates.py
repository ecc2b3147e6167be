"""Scenario dates picked from the test server's clock, so a scenario never falls into the past.

The server's clock starts at the real now and only moves forward, so a scenario cannot be
written for a fixed year. Instead it names the shape of its calendar ("ICPC on Friday 18
December", "a year whose Easter falls before 12 April") and takes the first year ahead of the
clock that has that shape. Every year with the same shape has the same answer, so the expected
dates in a test are known by construction, as a practitioner would count them:

    y = await year_when(env, "Fri 18 Dec")
    # 25, 28 Dec and 1 Jan are not working days: the first core group is due Wed 6 Jan.
    assert due == f"{y + 1}-01-06"

Nothing here asks the `holidays` package or the engine under test: Easter is computed by the
Gregorian computus below.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from temporalio.testing import WorkflowEnvironment

from workflows.calendar import LONDON

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# A scenario starts this far ahead of the server's clock at least, so the real seconds between
# picking the year and skipping to it never make the start moment a past one.
MARGIN = timedelta(hours=1)
SEARCH_YEARS = 500


def isleap(year: int) -> bool:
    return calendar.isleap(year)


def easter_sunday(year: int) -> date:
    """Easter Sunday (Gregorian; the Meeus/Jones/Butcher algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def good_friday(year: int) -> date:
    return easter_sunday(year) - timedelta(days=2)


def _weekday_day_month(text: str) -> tuple[int, int, int]:
    """'Fri 18 Dec' -> (4, 18, 12)."""
    name, day, month = text.split()
    return WEEKDAYS.index(name), int(day), MONTHS.index(month) + 1


async def server_now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def next_year(
    env: WorkflowEnvironment, start: Callable[[int], date | None], *, hour: int = 11
) -> tuple[int, date]:
    """The first year (from the server's current year) for which `start(year)` gives a day whose
    `hour`:00 in London is still ahead of the server's clock; `start` returns None for a year
    without the scenario's shape. Returns the year and that day."""
    now = await server_now(env)
    first = now.astimezone(LONDON).year
    for year in range(first, first + SEARCH_YEARS):
        day = start(year)
        if day is not None and datetime.combine(day, time(hour), tzinfo=LONDON) > now + MARGIN:
            return year, day
    raise AssertionError(f"no year in {first}..{first + SEARCH_YEARS} has the scenario's shape")


async def year_when(
    env: WorkflowEnvironment, day: str, *, also: Callable[[int], bool] = lambda year: True, hour: int = 11
) -> int:
    """The first year whose `day` ('Mon 11 Jan') falls on that weekday, for which `also(year)`
    holds, and whose `day` at `hour`:00 in London is still ahead of the server's clock."""
    weekday, dom, month = _weekday_day_month(day)

    def start(year: int) -> date | None:
        if month == 2 and dom == 29 and not isleap(year):
            return None
        candidate = date(year, month, dom)
        return candidate if candidate.weekday() == weekday and also(year) else None

    year, _ = await next_year(env, start, hour=hour)
    return year


async def next_weekday(env: WorkflowEnvironment, weekday: str, *, hour: int = 11) -> date:
    """The first `weekday` ('Mon') whose `hour`:00 in London is still ahead of the server's clock."""
    now = (await server_now(env)).astimezone(LONDON)
    day = now.date()
    while day.weekday() != WEEKDAYS.index(weekday) or datetime.combine(day, time(hour), tzinfo=LONDON) <= now + MARGIN:
        day += timedelta(days=1)
    return day
