"""Dates as people read them (starters/dates.py): the words the pages and the command line's
text output share. A year ahead of any clock, so the tests never expire."""

from __future__ import annotations

from datetime import UTC, date, datetime

from starters import dates


def test_a_date_in_a_table_and_in_a_sentence() -> None:
    assert dates.table_day("2030-10-21") == "Mon 21 Oct 2030"
    assert dates.prose_day(date(2030, 10, 21)) == "21 October 2030"
    assert dates.table_day(None) == "" and dates.table_day("not a date") == "not a date"


def test_times_are_londons() -> None:
    # 08:00 UTC in summer is 09:00 in London; in winter the same.
    assert dates.london_time("2030-07-01T08:00:00+00:00") == "Mon 1 Jul 2030 09:00"
    assert dates.london_time(datetime(2030, 12, 2, 9, 0, tzinfo=UTC)) == "Mon 2 Dec 2030 09:00"


def test_how_a_due_date_stands_today() -> None:
    today = date(2030, 12, 20)  # a Friday
    assert dates.due_words("2030-11-04", today) == "46 days overdue"
    assert dates.due_words("2030-12-19", today) == "1 day overdue"
    assert dates.due_words("2030-12-20", today) == "due today"
    assert dates.due_words("2030-12-23", today, "london") == "due in 1 working day"
    assert dates.due_words("2030-12-21", today, "london") == "due on Saturday"
    assert dates.due_words("2030-11-04", today, met=True) == ""


def test_working_days_are_the_plans_own() -> None:
    # Christmas Day and Boxing Day 2030 are bank holidays in England: Fri 20 Dec to Fri 27 Dec is
    # Mon 23, Tue 24, Fri 27 (three working days), not five.
    today = date(2030, 12, 20)
    assert dates.due_words("2030-12-27", today, "london") == "due in 3 working days"
    # A profile this host does not know: only weekends are not working days.
    assert dates.due_words("2030-12-27", today, "nowhere") == "due in 5 working days"
