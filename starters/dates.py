"""Dates as people read them, for the pages and the command line's text output alike.

"Mon 19 Oct 2026" in tables, "19 October 2026" in prose, times in London time, and how a due
date stands today: "46 days overdue", "due today", "due in 3 working days". Working days are
counted in the plan's own calendar (its profile's bank holidays and closure days), as the plan
counts them. `--json` output never goes through here: its ISO dates are a contract.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from workflows.calendar import LONDON, WorkingCalendar, profile_calendar
from workflows.policy import PolicyError, get_profile


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime or ISO text (a datetime's London date); None if not one."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(LONDON).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return as_date(datetime.fromisoformat(text)) if "T" in text else date.fromisoformat(text[:10])
    except ValueError:
        return None


def table_day(value: Any) -> str:
    """'Mon 19 Oct 2026': short, for a table cell."""
    day = as_date(value)
    return f"{day:%a} {day.day} {day:%b %Y}" if day else ("" if value in (None, "") else str(value))


def prose_day(value: Any) -> str:
    """'19 October 2026': for a sentence."""
    day = as_date(value)
    return f"{day.day} {day:%B %Y}" if day else ("" if value in (None, "") else str(value))


def london_time(value: Any) -> str:
    """An instant as London's wall clock: 'Mon 19 Oct 2026 09:00'."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    local = value.astimezone(LONDON) if value.tzinfo else value
    return f"{table_day(local.date())} {local:%H:%M}"


@cache
def plan_calendar(policy: str, year: int) -> WorkingCalendar | None:
    """The working days of the plan's profile around `year`; None for a profile this host does
    not know (then only weekends are not working days)."""
    try:
        return profile_calendar(get_profile(policy), year - 1, year + 2)
    except PolicyError:
        return None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def days_late(due: Any, today: date) -> int:
    """Calendar days since the due date (0 when not yet past it)."""
    day = as_date(due)
    return max(0, (today - day).days) if day else 0


def due_words(due: Any, today: date, policy: str | None = None, *, met: bool = False) -> str:
    """How a due date stands today: '46 days overdue', 'due today', 'due on Saturday', 'due in 3
    working days' (in the plan's own calendar). Empty for something met or without a date."""
    day = as_date(due)
    if day is None or met:
        return ""
    if day < today:
        return f"{_plural((today - day).days, 'day')} overdue"
    if day == today:
        return "due today"
    calendar = plan_calendar(policy, today.year) if policy else None
    calendar = calendar or WorkingCalendar(())
    working = calendar.working_days_between(today, day)
    if working == 0:  # a weekend or holiday ahead, before the next working day
        return f"due on {day:%A}"
    return f"due in {_plural(working, 'working day')}"
