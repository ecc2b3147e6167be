"""Working days and calendar periods as a practitioner counts them (procedures.md, "Calendar
conventions"): the conference day itself is not counted; weekends, the region's bank holidays
and the authority's closure days are not working days."""

from datetime import date

import pytest

from workflows.calendar import WorkingCalendar, add_months, non_working_days


def calendar(region: str, closures: tuple[date, ...] = ()) -> WorkingCalendar:
    return WorkingCalendar(non_working_days(region, 2025, 2029, closures))


def test_icpc_on_a_monday_gives_ten_working_days_two_weeks_later():
    assert calendar("ENG").add_working_days(date(2026, 11, 23), 10) == date(2026, 12, 7)


def test_christmas_and_new_year_push_the_first_core_group_into_january():
    # ICPC Fri 18 Dec 2026: 25, 28 Dec (Boxing Day observed) and 1 Jan are bank holidays.
    assert calendar("ENG").add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 6)


def test_a_christmas_shutdown_the_authority_configures_is_not_a_working_day():
    shutdown = (date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31))
    assert calendar("ENG", shutdown).add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 11)


def test_easter_2027_good_friday_and_easter_monday_are_skipped():
    # Thu 25 Mar 2027 → the next working day is Tue 30 Mar.
    assert calendar("ENG").add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)


def test_isle_of_man_tt_bank_holiday_counts_against_the_first_core_group():
    # ICPC Fri 29 May 2026; Fri 5 Jun 2026 is the TT Bank Holiday on the island only.
    assert calendar("IM").add_working_days(date(2026, 5, 29), 10) == date(2026, 6, 15)
    assert calendar("ENG").add_working_days(date(2026, 5, 29), 10) == date(2026, 6, 12)


def test_tynwald_day_is_a_holiday_on_the_island_and_not_in_england():
    assert not calendar("IM").is_working_day(date(2027, 7, 5))
    assert calendar("ENG").is_working_day(date(2027, 7, 5))


@pytest.mark.parametrize(
    ("region", "holiday"),
    [("SCT", date(2027, 1, 4)), ("NIR", date(2027, 3, 17)), ("WLS", date(2027, 8, 30))],
)
def test_each_uk_region_has_its_own_bank_holidays(region, holiday):
    assert not calendar(region).is_working_day(holiday)


def test_months_clamp_to_the_end_of_a_shorter_month():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_29_february_exists_in_2028():
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2028, 2, 29), 6) == date(2028, 8, 29)


def test_working_days_can_be_counted_back_for_reminders():
    cal = calendar("ENG")
    # Two working days before Wed 6 Jan 2027 is Mon 4 Jan (1 Jan is New Year's Day).
    assert cal.add_working_days(date(2027, 1, 6), -2) == date(2027, 1, 4)
    assert cal.working_days_between(date(2026, 12, 18), date(2027, 1, 6)) == 10


def test_an_unknown_region_is_refused():
    with pytest.raises(ValueError, match="unknown region"):
        non_working_days("XX", 2026, 2026)
