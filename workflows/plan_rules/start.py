"""A new plan: its start document checked against the profile, and the first obligations
opened from the initial conference (procedures.md, "What a plan starts with").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from workflows import models as m
from workflows.calendar import WorkingCalendar, local_date
from workflows.plan_rules.base import PlanRules
from workflows.plan_rules.state import LATEST, Patches, PlanState
from workflows.plan_rules.timetable import before_birth, timetable
from workflows.policy import Profile


class StartRules(PlanRules):
    """Starting a plan (`begin`) and checking a start document (`check_start`)."""

    @classmethod
    def check_start(
        cls,
        start: m.PlanStart,
        profile: Profile,
        cal: WorkingCalendar,
        today: date,
        *,
        honest: bool = True,
        entitled: bool = True,
    ) -> None:
        problems: list[tuple[str, str]] = []
        if start.icpc_date > today:
            problems.append(("icpc_date", f"{start.icpc_date} is in the future"))
        if honest:
            problems += m.implausible_start(start, today)
        if entitled:
            problems += m.incoherent_start(start)
        limit = profile.first_core_group.within.after(start.icpc_date, cal)
        if start.first_core_group_date:
            if start.first_core_group_date > limit:
                problems.append(
                    (
                        "first_core_group_date",
                        f"{start.first_core_group_date} is after its deadline {limit} ({profile.first_core_group.source})",
                    )
                )
            if profile.first_core_group.not_on_conference_day and start.first_core_group_date == start.icpc_date:
                problems.append(
                    ("first_core_group_date", f"must not be the conference day ({profile.first_core_group.source})")
                )
        review_limit = profile.first_review.within.after(start.icpc_date, cal)
        if start.first_review_date and start.first_review_date > review_limit:
            problems.append(
                (
                    "first_review_date",
                    f"{start.first_review_date} is past the statutory limit {review_limit} ({profile.first_review.source})",
                )
            )
        if problems:
            raise m.Refusal(problems)

    @classmethod
    def begin(
        cls,
        start: m.PlanStart,
        profile: Profile,
        cal: WorkingCalendar,
        now: datetime,
        patches: Patches = LATEST,
    ) -> Self:
        cls.check_start(
            start, profile, cal, local_date(now), honest=patches.honest_records, entitled=patches.entitled_senders
        )
        if patches.procedures and profile.chair.required and start.chair is None:
            raise m.Refusal.one("chair", f"this profile needs the review conference chair ({profile.chair.source})")
        interval = start.visit_interval_working_days or profile.visit.interval.working_days or 10
        engine = cls(PlanState(start=start, visit_interval_working_days=interval), profile, cal, patches)
        engine._open_first_obligations(now)
        if patches.honest_records:
            engine._report_unreachable(now, start.people())
        return engine

    def _open_first_obligations(self, now: datetime) -> None:
        start, icpc = self.state.start, self.state.start.icpc_date
        self._log(
            now,
            icpc,
            "plan-started",
            policy=self.profile.id,
            conference_kind=start.conference_kind,
            category=start.category,
        )
        rows = timetable(start, self.profile, self.cal, self.patches.procedures)
        sources = {kind: source for kind, _, source in rows}
        for kind, due, source in rows:
            limit = None
            if kind == "first-core-group":
                limit, due = due, start.first_core_group_date or due
                due = before_birth(due, start, self.cal, working_day=self.patches.procedures)
            if kind == "review-conference":
                limit, due = due, start.first_review_date or due
                self._open(kind, due, icpc, source, limit=limit, number=1)
                continue
            hangs_on_review = (
                kind.startswith("conference-report")
                or kind == "pre-review-core-group"
                or (kind == "bedroom-seen" and due == self._first_review_limit())
            )
            self._open(
                kind, due, icpc, sources[kind], limit=limit, group="review-conference-1" if hangs_on_review else None
            )
        review = self._find_open("review-conference")
        if review and start.first_review_date:
            self._review_date_changed(review)
        if start.conference_kind == "pre-birth" and start.expected_birth_date:
            ideal = self.profile.pre_birth.conference_before_birth.before(start.expected_birth_date, self.cal)
            if icpc > ideal:
                self._alert(
                    now,
                    "pre-birth-late-conference",
                    [self._team_manager()],
                    f"pre-birth conference held {icpc}, less than {self.profile.pre_birth.conference_before_birth.describe()} before the expected birth {start.expected_birth_date}",
                    f"The pre-birth conference should ideally be held by {ideal} ({self.profile.pre_birth.source}). Plan the core group before the birth.",
                )
        if start.conference_kind == "transfer-in":
            self._log(
                now, icpc, "transfer-in", note=f"treated as an initial conference ({self.profile.transfer_in.source})"
            )
