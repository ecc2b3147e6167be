"""When a plan's obligations first fall due, from the initial conference alone (procedures.md,
"What a plan starts with"), and when on a day people are told."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_instant
from workflows.policy import Period, Profile


def before_birth(due: date, start: m.PlanStart, cal: WorkingCalendar, working_day: bool = True) -> date:
    """A pre-birth plan's first core group meets before the birth (002 'Unborn Child Protection
    Conference'): on the last working day before the expected birth at the latest."""
    birth = start.expected_birth_date
    if birth is None:
        return due
    last = cal.add_working_days(birth, -1) if working_day else birth - timedelta(days=1)
    return max(start.icpc_date, last) if last < due else due


def timetable(
    start: m.PlanStart, profile: Profile, cal: WorkingCalendar, procedures: bool = True
) -> list[tuple[str, date, str]]:
    """The first due date of every obligation the profile has, from the conference alone:
    (kind, due, seed reference). `cpplan schedule` prints it; a new plan opens exactly these.
    `procedures`: with the rules of the `procedures-2` release (a pre-birth plan's first core
    group before the birth, the core group before the review conference)."""
    icpc = start.icpc_date
    first_review = profile.first_review.within.after(icpc, cal)
    visit_every = (
        Period(working_days=start.visit_interval_working_days)
        if start.visit_interval_working_days
        else profile.visit.interval
    )
    first_core_group = profile.first_core_group.within.after(icpc, cal)
    if procedures:
        first_core_group = before_birth(first_core_group, start, cal)
    rows = [("first-core-group", first_core_group, profile.first_core_group.source)]
    rows.append(("visit", visit_every.after(icpc, cal), profile.visit.source))
    if profile.seen_alone:
        # 000 9.4.6: "at intervals specified by the child protection conference plan".
        alone = Period(weeks=start.seen_alone_interval_weeks) if start.seen_alone_interval_weeks else None
        rows.append(("seen-alone", (alone or profile.seen_alone.interval).after(icpc, cal), profile.seen_alone.source))
    if profile.bedroom_seen:
        bedroom = profile.bedroom_seen.interval.after(icpc, cal) if profile.bedroom_seen.interval else first_review
        rows.append(("bedroom-seen", bedroom, profile.bedroom_seen.source))
    if profile.core_assessment:
        rows.append(
            ("core-assessment", profile.core_assessment.within.after(icpc, cal), profile.core_assessment.source)
        )
    rows.append(("review-conference", first_review, profile.first_review.source))
    if procedures and profile.core_group.before_review_conference:
        rows.append(("pre-review-core-group", cal.add_working_days(first_review, -1), profile.core_group.source))
    if profile.conference_admin:
        admin = profile.conference_admin
        rows.append(("conference-decisions", admin.decisions_circulated_within.after(icpc, cal), admin.source))
        rows.append(("conference-record", admin.record_circulated_within.after(icpc, cal), admin.source))
        rows.append(
            ("conference-report-parents", admin.report_to_parents_before.before(first_review, cal), admin.source)
        )
        rows.append(("conference-report-chair", admin.report_to_chair_before.before(first_review, cal), admin.source))
    return rows


def local_time_of(day: date, profile: Profile) -> datetime:
    return local_instant(day, profile.notify_at)
