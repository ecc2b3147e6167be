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
        procedures_3: bool = True,
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
            before = before_birth(limit, start, cal)
            if procedures_3 and start.conference_kind == "pre-birth" and start.first_core_group_date > before:
                # 002 'Unborn Child Protection Conference': the Core Group "is expected to meet
                # prior to the birth": a date after it is refused, not moved.
                problems.append(
                    (
                        "first_core_group_date",
                        f"{start.first_core_group_date} is not before the expected birth: the core group meets by {before} ({profile.pre_birth.source})",
                    )
                )
            if profile.first_core_group.not_on_conference_day and start.first_core_group_date == start.icpc_date:
                problems.append(
                    ("first_core_group_date", f"must not be the conference day ({profile.first_core_group.source})")
                )
        if procedures_3 and start.seen_alone_interval_weeks and profile.seen_alone is None:
            problems.append(("seen_alone_interval_weeks", "this profile has no clock for the child seen alone"))
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
            start,
            profile,
            cal,
            local_date(now),
            honest=patches.honest_records,
            procedures_3=patches.procedures_3,
            entitled=patches.entitled_senders,
        )
        if patches.procedures and profile.chair.required and start.chair is None:
            raise m.Refusal.one("chair", f"this profile needs the review conference chair ({profile.chair.source})")
        interval = start.visit_interval_working_days or profile.visit.interval.working_days or 10
        state = PlanState(start=start, visit_interval_working_days=interval)
        if patches.procedures_3:
            state.seen_alone_interval_weeks = start.seen_alone_interval_weeks
        engine = cls(state, profile, cal, patches)
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
            if self.patches.procedures_3 and start.transfer_agreement_date:
                self._transfer_in_timing(now, start.transfer_agreement_date)

    def _transfer_in_timing(self, now: datetime, agreed: date) -> None:
        """002 'Transfer Child Protection Conference': "A transfer conference should be held within
        15 working days of the agreement between the two authorities". The plan starts whenever
        it was held (a child is never left without one); one held late is the team manager's to know."""
        rule, icpc = self.profile.transfer_in, self.state.start.icpc_date
        limit = rule.conference_within.after(agreed, self.cal)
        self._log(now, icpc, "transfer-agreed", agreed=agreed.isoformat(), conference_limit=limit.isoformat())
        if icpc > limit:
            self._alert(
                now,
                "transfer-conference-late",
                [self._team_manager()],
                f"transfer conference held {icpc}, after its limit {limit}",
                f"The two authorities agreed the transfer on {agreed}; its conference was due by {limit} and was held "
                f"on {icpc}. ({rule.source})",
            )
