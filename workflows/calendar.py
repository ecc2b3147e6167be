"""Working days and statutory periods, as the procedures count them.

A *working day* is Monday to Friday, not a bank holiday of the authority's region and not a
closure day the authority configures (procedures.md, "Calendar conventions").

`WorkingCalendar` is pure: it is built from an explicit list of non-working dates, so the
workflow can hold one loaded once per run by an activity (a `holidays` upgrade then never
changes the dates a running plan already replays). `non_working_days()` is the only place that
asks the `holidays` package, and only activities and the command line call it.
"""

from __future__ import annotations

import calendar as _pycalendar
import functools
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from workflows.policy import Profile

LONDON = ZoneInfo("Europe/London")

# Regions the `holidays` package knows: UK subdivisions and the Isle of Man.
REGIONS = ("ENG", "WLS", "SCT", "NIR", "IM")


class WorkingCalendar:
    """Working-day arithmetic over a fixed set of non-working dates (weekends are implied)."""

    def __init__(self, non_working: Iterable[date]):
        self._closed = frozenset(non_working)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._closed

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself is not counted); n may be negative."""
        step = 1 if n >= 0 else -1
        day, remaining = start, abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def on_or_after(self, day: date) -> date:
        """The first working day on or after `day`."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's end (3 months after 30 Nov is 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = _pycalendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def local_date(moment: datetime) -> date:
    """The Europe/London date of an aware instant."""
    return moment.astimezone(LONDON).date()


def local_instant(day: date, at: time) -> datetime:
    """An aware instant for a Europe/London wall-clock time on `day`."""
    return datetime.combine(day, at, tzinfo=LONDON)


def profile_calendar(profile: Profile, first_year: int, last_year: int) -> WorkingCalendar:
    """The working days of an authority's profile (its region's bank holidays and its closure
    days) from `first_year` to `last_year`, outside workflow code (see `non_working_days`)."""
    return WorkingCalendar(non_working_days(profile.region, first_year, last_year, profile.closure_days))


def non_working_days(region: str, first_year: int, last_year: int, closures: Iterable[date] = ()) -> list[date]:
    """Bank holidays of `region` in the years given, plus the authority's closure days.

    Imported lazily: workflow code never calls this (the `holidays` data changes between
    releases, so a running plan keeps the list its run loaded). Kept per process: every plan
    started (`starters.cases.start_context`) and every run's context asks for the same few
    tables, each a few milliseconds to build, and the data cannot change while a process runs.
    """
    return list(_non_working_days(region, first_year, last_year, tuple(sorted(set(closures)))))


@functools.lru_cache(maxsize=64)
def _non_working_days(region: str, first_year: int, last_year: int, closures: tuple[date, ...]) -> tuple[date, ...]:
    import holidays

    years = range(first_year, last_year + 1)
    if region == "IM":
        found = holidays.country_holidays("IM", years=years)
    elif region in REGIONS:
        found = holidays.country_holidays("GB", subdiv=region, years=years)
    else:
        raise ValueError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")
    return tuple(sorted(set(found.keys()) | set(closures)))
