"""Policy profiles: each authority's timescales as validated data.

Every rule carries `source`: the seed file and section it comes from, or the words
"default (seed silent)" and why the default is what a practitioner would expect. The five
built-in profiles live in `workflows/policies/`; an authority adds its own by dropping a
`<id>.toml` file in `CPPLAN_POLICY_DIR` (same schema, no code change). A file with an error is
refused at load with the file, the field and the reason.
"""

from __future__ import annotations

import functools
import os
import tomllib
from datetime import date, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workflows.calendar import REGIONS, WorkingCalendar, add_months

BUILT_IN_DIR = Path(__file__).parent / "policies"
DEFAULT_SOURCE = "default (seed silent): procedures.md default column"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    """A span of time in exactly one unit, counted the way the seed words it."""

    working_days: int | None = Field(default=None, ge=0, le=400)
    days: int | None = Field(default=None, ge=0, le=1000)
    weeks: int | None = Field(default=None, ge=0, le=200)
    months: int | None = Field(default=None, ge=0, le=60)
    hours: int | None = Field(default=None, ge=0, le=24 * 60)

    @model_validator(mode="after")
    def _one_unit(self) -> Period:
        units = [
            name for name in ("working_days", "days", "weeks", "months", "hours") if getattr(self, name) is not None
        ]
        if len(units) != 1:
            raise ValueError("give exactly one of working_days, days, weeks, months, hours")
        return self

    def after(self, day: date, cal: WorkingCalendar) -> date:
        """The last date still 'within' this period after `day` (day itself not counted)."""
        if self.working_days is not None:
            return cal.add_working_days(day, self.working_days)
        if self.days is not None:
            return day + timedelta(days=self.days)
        if self.weeks is not None:
            return day + timedelta(weeks=self.weeks)
        if self.months is not None:
            return add_months(day, self.months)
        return day + timedelta(days=-(-(self.hours or 0) // 24))

    def before(self, day: date, cal: WorkingCalendar) -> date:
        """The latest date that is at least this period before `day`."""
        if self.working_days is not None:
            return cal.add_working_days(day, -self.working_days)
        if self.days is not None:
            return day - timedelta(days=self.days)
        if self.weeks is not None:
            return day - timedelta(weeks=self.weeks)
        if self.months is not None:
            return add_months(day, -self.months)
        return day - timedelta(days=-(-(self.hours or 0) // 24))

    def as_timedelta(self) -> timedelta:
        """For clocks that run on the hour (a missing child), not on dates."""
        if self.hours is not None:
            return timedelta(hours=self.hours)
        if self.days is not None:
            return timedelta(days=self.days)
        if self.weeks is not None:
            return timedelta(weeks=self.weeks)
        raise ValueError("this period is counted in dates, not hours")

    def describe(self) -> str:
        """In words: '3 months', '1 month', '10 working days', '1 working day'."""
        for name in ("working_days", "days", "weeks", "months", "hours"):
            value = getattr(self, name)
            if value is not None:
                unit = name.replace("_", " ")
                return f"{value} {unit.removesuffix('s') if value == 1 else unit}"
        return ""


def _wd(n: int) -> Period:
    return Period(working_days=n)


class Rule(_Strict):
    source: str = Field(min_length=3, description="seed file and section, or 'default (seed silent): ...'")


# Whose act meets a clock. A visit names who made it (`by`), so for the three clocks a visit meets
# (the child seen, seen alone, the bedroom seen) it is checked under `procedures-3`: the lead
# social worker or whoever covers for them; or them and any member of the core group; or any of
# the plan's people. For every other clock it is said, so a practitioner knows who is chased.
Who = Literal[
    "lead-social-worker",
    "core-group",
    "plan-people",
    "each-member",
    "core-group-meeting",
    "conference",
    "manager",
    "chair",
]
VISIT_WHO = ("lead-social-worker", "core-group", "plan-people")


class MetBy(_Strict):
    who: Who
    source: str = Field(min_length=3, description="the seed sentence that says whose act it is, or the default")


def _met_by(who: Who, why: str) -> MetBy:
    return MetBy(who=who, source=f"default (seed silent): {why}")


class ClockRule(Rule):
    """A rule with a clock: it also says whose act meets it."""

    met_by: MetBy = _met_by("plan-people", "recorded by any of the plan's people")


class VisitClockRule(ClockRule):
    """A clock a visit meets: only the visits of those `met_by` names count."""

    @model_validator(mode="after")
    def _a_visitor(self) -> VisitClockRule:
        if self.met_by.who not in VISIT_WHO:
            raise ValueError(f"met_by.who: a visit is made by one of {', '.join(VISIT_WHO)}")
        return self


class WithinRule(ClockRule):
    within: Period


class ReminderRule(Rule):
    before: Period = _wd(2)
    source: str = DEFAULT_SOURCE


class EscalationRule(Rule):
    """Overdue: team manager on the first working day after the due date; service manager later."""

    second_level_after: Period = _wd(5)
    source: str = DEFAULT_SOURCE


MEETING = _met_by("core-group-meeting", "the core group meeting held")


class FirstCoreGroupRule(WithinRule):
    within: Period = _wd(10)
    not_on_conference_day: bool = False
    met_by: MetBy = MEETING


class CoreGroupRule(ClockRule):
    met_by: MetBy = MEETING
    interval: Period = Period(weeks=6)
    interval_after_first_review: Period | None = None
    # A core group held within this period before each review conference, to discuss the
    # recommendation to it (004 'Core Groups'); none where the profile does not have it.
    before_review_conference: Period | None = None


class NotesRule(ClockRule):
    """Notes and written agreement circulated: within a period of the meeting, or a period
    before the next core group (tees, 003 §2: they move with it)."""

    met_by: MetBy = _met_by("lead-social-worker", "the lead social worker sends the notes out")
    within: Period | None = None
    before_next_core_group: Period | None = None

    @model_validator(mode="after")
    def _one_anchor(self) -> NotesRule:
        if (self.within is None) == (self.before_next_core_group is None):
            raise ValueError("give exactly one of within, before_next_core_group")
        return self


class VisitRule(VisitClockRule):
    interval: Period = _wd(10)
    statutory_locations: list[Literal["home", "parent-home", "other"]] = ["home", "parent-home"]
    # Only the lead social worker (or whoever covers for them) makes a statutory visit; a
    # sighting by anyone else is recorded but does not restart the clock.
    by_lead_social_worker_only: bool = False

    @model_validator(mode="after")
    def _agrees(self) -> VisitRule:
        if self.by_lead_social_worker_only and self.met_by.who != "lead-social-worker":
            raise ValueError("by_lead_social_worker_only = true needs met_by.who = 'lead-social-worker'")
        return self


class IntervalRule(VisitClockRule):
    interval: Period


class BedroomRule(VisitClockRule):
    interval: Period | None = None
    once_between_conferences: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> BedroomRule:
        if (self.interval is None) == (not self.once_between_conferences):
            raise ValueError("give interval, or once_between_conferences = true, not both")
        return self


class ConferenceAdminRule(ClockRule):
    report_to_parents_before: Period
    report_to_chair_before: Period
    decisions_circulated_within: Period
    record_circulated_within: Period
    # A parent excluded from a review conference is given the report this long before it (002
    # 'Exclusion of Family Members from a Conference'); none: exclusions are not recorded.
    report_to_excluded_parents_before: Period | None = None
    met_by: MetBy = _met_by("lead-social-worker", "the lead social worker's report; the conference's administration")


class StepDownRule(ClockRule):
    """Child-in-need step-down after a plan ends."""

    meeting_within: Period = _wd(10)
    plan_at_least: Period = Period(months=3)
    not_needed_when: list[str] = []
    # Ending with a child-in-need plan assessed as not necessary: a recorded rationale, and a
    # supervision discussion between the team manager and the head of service within this period.
    not_necessary_supervision_within: Period | None = None


class MissingRule(ClockRule):
    senior_manager_after: Period = Period(hours=24)
    source: str = "default (seed silent on timing): not traced within a day goes to the senior child protection manager"


class NoAccessRule(ClockRule):
    consecutive_visits: int = Field(default=2, ge=1, le=10)
    police_action_within: Period = _wd(1)


class EndingRule(Rule):
    """Whether a plan may end at the first review conference: as an ordinary decision (agreed by
    a manager or the chair) or only in the exceptional circumstances listed."""

    at_first_review: Literal["ordinary", "exceptional-only"] = "exceptional-only"
    first_review_exceptional_reasons: list[str] = ["perpetrator-custody", "perpetrator-deceased"]


class ReviewChangesRule(ClockRule):
    """Who decides an early review, and moving a set review conference: a manager; brought
    forward where possible, never past the statutory limit."""

    # The chair of conference is consulted on an early review too, and told when one is asked for
    # (003 §3); where no chair is named on the plan, the team manager is asked to consult them.
    chair_consulted: bool = False
    met_by: MetBy = _met_by("manager", "one of the plan's managers decides")


class ChairRule(Rule):
    """The review conference chair as one of the plan's people (told when the plan cannot be
    implemented)."""

    required: bool = False


class ImplementationDifficultyRule(ClockRule):
    """A plan that cannot be implemented: the chair told urgently and a review conference
    convened; a manager sets its date within this period and may not decline it."""

    convene_decision_within: Period = _wd(1)
    # 000 9.5.2: the lead social worker informed immediately, and a core group meeting or
    # discussion co-ordinated within this period to agree a reconsidered plan (none: not asked).
    lead_social_worker_told: bool = False
    core_group_discussion_within: Period | None = None
    met_by: MetBy = _met_by("manager", "one of the plan's managers sets the convened review's date")


class PreBirthRule(Rule):
    conference_before_birth: Period = Period(months=3)


class InquorateRule(Rule):
    new_date_within: Period = Period(months=1)


class TransferInRule(ClockRule):
    """The transfer conference within this period of the two authorities' agreement (its date,
    `transfer_agreement_date`, given with the start): one held later is reported."""

    conference_within: Period = _wd(15)
    report_before: Period = _wd(5)
    met_by: MetBy = _met_by("conference", "the transfer conference held (the plan's start)")


class TransferOutRule(ClockRule):
    """The plan stays with this authority until the receiving authority's transfer conference."""

    conference_within: Period = _wd(15)
    report_before: Period = _wd(5)


class ComplaintRule(Rule):
    """Complaints about a conference (002, 'Child Protection Conference Complaints')."""

    service_manager_response_within: Period = _wd(10)
    acknowledge_within: Period = _wd(5)
    consider_within: Period = _wd(15)
    written_response_within: Period = _wd(30)
    appeal_meets_within: Period = _wd(20)
    appeal_outcome_within: Period = _wd(5)


class AttendanceRule(ClockRule):
    """A conference's attendance recorded: the chair writes to any professional who neither
    attended nor sent a report, within this period (004 'Role of the Chair')."""

    chair_writes_within: Period = _wd(10)
    met_by: MetBy = _met_by("chair", "the chair writes")


class ScalingRule(Rule):
    """Strengthening Families scaling (004): most score 0 → management oversight; majority > 5 →
    consider whether a child-in-need plan would suffice."""


class Profile(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    name: str
    seed: str
    region: str
    closure_days: list[date] = []
    notify_at: time = time(9, 0)

    reminder: ReminderRule = ReminderRule()
    escalation: EscalationRule = EscalationRule()
    first_core_group: FirstCoreGroupRule
    core_group: CoreGroupRule
    notes_circulated: NotesRule
    signature: WithinRule
    visit: VisitRule
    seen_alone: IntervalRule | None = None
    bedroom_seen: BedroomRule | None = None
    core_assessment: WithinRule | None = None
    first_review: WithinRule
    later_review: WithinRule
    conference_admin: ConferenceAdminRule | None = None
    step_down: StepDownRule | None = None
    missing: MissingRule = MissingRule()
    # Defaults for profiles whose seed is silent say so, and never quote another authority's seed.
    no_access: NoAccessRule = NoAccessRule(
        source="default (seed silent): not seen on two consecutive visits, the team manager and core group told; action agreed with the police"
    )
    ending: EndingRule = EndingRule(
        at_first_review="ordinary",
        first_review_exceptional_reasons=[],
        source="default (seed silent): ending at the first review conference is an ordinary conference decision, agreed by a manager or the chair",
    )
    review_changes: ReviewChangesRule = ReviewChangesRule(
        source="default (seed silent): an early review is authorised, and a set review conference moved, by a manager; never past the statutory limit"
    )
    chair: ChairRule = ChairRule(source="default (seed silent): the chair is named on the plan when known")
    implementation_difficulty: ImplementationDifficultyRule = ImplementationDifficultyRule(
        source="default (seed silent): a plan that cannot be implemented goes to the chair and a review conference is convened"
    )
    pre_birth: PreBirthRule = PreBirthRule(
        source="default (seed silent): a pre-birth conference ideally 3 months before the expected birth; the core group meets before the birth"
    )
    inquorate: InquorateRule = InquorateRule(
        source="default (seed silent): an interim plan stands; another conference date within a month"
    )
    transfer_in: TransferInRule = TransferInRule(
        source="default (seed silent): a transfer-in conference within 15 working days, treated as an initial conference"
    )
    transfer_out: TransferOutRule = TransferOutRule(
        source="default (seed silent): the plan stays until the receiving authority's transfer conference; report 5 working days before it"
    )
    complaints: ComplaintRule | None = None
    scaling: ScalingRule | None = None
    conference_attendance: AttendanceRule | None = None

    def moves_with(self) -> dict[str, str]:
        """Per rule, the clock its due date is counted from: when that one moves, earlier or later,
        this one follows (under `procedures-3`; workflows/plan_rules/follow.py moves them)."""
        out: dict[str, str] = {}
        notes = self.notes_circulated
        if notes.before_next_core_group:
            out["notes_circulated"] = f"the next core group: {notes.before_next_core_group.describe()} before it"
        out["signature"] = f"the notes circulated: {self.signature.within.describe()} after them"
        if self.core_group.before_review_conference:
            out["core_group"] = "the review conference: the core group before it, the working day before at the latest"
        if self.bedroom_seen and self.bedroom_seen.once_between_conferences:
            out["bedroom_seen"] = "the review conference: seen before it"
        admin = self.conference_admin
        if admin:
            words = (
                f"the review conference: report to parents {admin.report_to_parents_before.describe()}, "
                f"to the chair {admin.report_to_chair_before.describe()} before it"
            )
            if admin.report_to_excluded_parents_before:
                words += f", to a parent excluded {admin.report_to_excluded_parents_before.describe()} before it"
            out["conference_admin"] = words
        out["transfer_out"] = (
            f"the receiving authority's transfer conference: the report {self.transfer_out.report_before.describe()} before it"
        )
        return out

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"unknown region; expected one of {', '.join(REGIONS)}")
        return value


class PolicyError(ValueError):
    """A profile file that cannot be used, with the file, field and reason."""


def _describe(err: ValidationError, path: Path) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        parts.append(f"{path}: {where}: {item['msg']}")
    return "; ".join(parts)


def load_profile_file(path: Path) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise PolicyError(f"{path}: (file): {err}") from err
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as err:
        raise PolicyError(_describe(err, path)) from err
    if profile.id != path.stem:
        raise PolicyError(f"{path}: id: must match the file name ({path.stem!r}), found {profile.id!r}")
    return profile


def policy_dirs() -> list[Path]:
    dirs = [BUILT_IN_DIR]
    extra = os.environ.get("CPPLAN_POLICY_DIR")
    if extra:
        dirs.extend(Path(p) for p in extra.split(os.pathsep) if p)
    return dirs


def load_profiles() -> dict[str, Profile]:
    """All profiles; an authority's own file overrides a built-in one with the same id.

    Read again only when a file is added, removed or changed (a bulk import checks thousands
    of plans against the same few files)."""
    files: list[tuple[str, float]] = []
    for folder in policy_dirs():
        if not folder.is_dir():
            raise PolicyError(f"{folder}: (folder): CPPLAN_POLICY_DIR is not a folder")
        files.extend((str(path), path.stat().st_mtime) for path in sorted(folder.glob("*.toml")))
    return dict(_load(tuple(files)))


@functools.lru_cache(maxsize=8)
def _load(files: tuple[tuple[str, float], ...]) -> tuple[tuple[str, Profile], ...]:
    profiles: dict[str, Profile] = {}
    for path, _ in files:
        profile = load_profile_file(Path(path))
        profiles[profile.id] = profile
    return tuple(profiles.items())


def get_profile(policy_id: str) -> Profile:
    profiles = load_profiles()
    if policy_id not in profiles:
        raise PolicyError(f"policy: unknown profile {policy_id!r} (known: {', '.join(sorted(profiles))})")
    return profiles[policy_id]
