"""What every message and start document is made of, as case systems send them
(docs/contract.md): references, dates, flags, counts, people, the plan's start document, and
`parse`, which turns bad input into a `Refusal` naming each bad field and the reason.

Each message's own payload model lives beside its rule (`workflows.plan_rules.visits.RecordVisit`,
...). Shape checks live in the models (types, enums, lengths); checks that need the plan (a date
before the plan, an unknown member, a date past a statutory limit) live in the rules.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

# Opaque references from the case system: no spaces, no '@' (an e-mail address is not a
# reference), short enough to sit in a workflow id.
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$"
PROFILE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,40}$"
Ref = Annotated[str, StringConstraints(pattern=REF_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
# A UK mobile number, as GOV.UK Notify takes it for a text message: 07... or +447..., spaces
# allowed between the groups of digits.
MOBILE_PATTERN = r"^(?:\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}$"
Mobile = Annotated[str, StringConstraints(pattern=MOBILE_PATTERN, max_length=20)]
Text = Annotated[str, StringConstraints(max_length=200)]


# Messages take JSON types as the contract gives them: a date is text, YYYY-MM-DD; a flag is
# true or false; a count is a whole number. Pydantic would otherwise read a number as a Unix
# time (`"date": 1795392000`), "no" or 0 as false, and `true` as the count 1. `parse(..., lax=True)`
# keeps its old, lenient reading for plans whose history was recorded before (see
# `PlanEngine.strict_input`). Messages never echo the value they refuse: it may be personal.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _lax(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("lax"))


def _as_day(value: Any, info: ValidationInfo) -> Any:
    if value is None or _lax(info) or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value  # then read as a calendar date: 2027-02-30 is refused there
    raise ValueError("Input should be a valid date written YYYY-MM-DD" + _got(value))


def _as_flag(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, bool) or _lax(info):
        return value
    raise ValueError("Input should be a valid boolean, true or false" + _got(value))


def _as_count(value: Any, info: ValidationInfo) -> Any:
    if (isinstance(value, int) and not isinstance(value, bool)) or _lax(info):
        return value
    raise ValueError("Input should be a valid integer, a whole number" + _got(value))


def _got(value: Any) -> str:
    """What came instead, by its JSON type only."""
    kind = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), "" if isinstance(value, str) else type(value).__name__)
    return f", not {kind}" if kind else ""


# The years a date may fall in. A plan's dates are within a few years of today; a date outside
# these is a typing error, and past 9999 the calendar itself cannot count (9999-12-31 plus a
# review interval is no date at all).
FIRST_YEAR, LAST_YEAR = 1900, 2100
DATE_RANGE = f"must be a date between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"


def _in_years(value: Any, info: ValidationInfo) -> Any:
    """Dates outside FIRST_YEAR..LAST_YEAR refused where `parse` reads input (`bounded` in the
    context). Not when a carried state or a history recorded before the bound is read back (no
    context): what was accepted then is read as it was."""
    bounded = bool(info.context and info.context.get("bounded"))
    if bounded and isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(DATE_RANGE)
    return value


def iso_day(field: str, text: str) -> date:
    """A date typed on the command line (YYYY-MM-DD, within FIRST_YEAR..LAST_YEAR), or a
    `Refusal` naming the option."""
    try:
        day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise Refusal.one(field, f"{text!r} is not a date (YYYY-MM-DD)")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise Refusal.one(field, DATE_RANGE)
    return day


Day = Annotated[date, BeforeValidator(_as_day), AfterValidator(_in_years)]
MaybeDay = Annotated[date | None, BeforeValidator(_as_day), AfterValidator(_in_years)]
Flag = Annotated[bool, BeforeValidator(_as_flag)]
Count = Annotated[int, BeforeValidator(_as_count)]

ROLES = (
    "lead-social-worker",
    "team-manager",
    "service-manager",
    "senior-manager",
    "parent",
    "child",
    "professional",
    "carer",
    "partnership",
    "chair",
)


# Roles of the child's family: never a member of staff, and not sent what is for professionals.
FAMILY_ROLES = ("parent", "child", "carer")
# How far back a conference date is believable: plans are reviewed every six months, and a child
# is rarely on a plan for years; an older date is a typing error (1900 would open years of
# overdue clocks at once).
OLDEST_PLAN_YEARS = 5


class Refusal(ValueError):
    """Bad input: a message naming each field and why. Nothing was changed."""

    # The reason code clients map to an exit code or HTTP status (starters/cases), and the
    # type of the workflow's failure that carries it to them.
    code = "refused"
    failure_type = "Refused"

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))

    @classmethod
    def one(cls, field: str, reason: str) -> Self:
        return cls([(field, reason)])


class NotEntitled(Refusal):
    """Not the sender's to send: the person named is not entitled to it on this plan (nor, for
    a member of the family, in a member of staff's place), or a manager's decision taken by
    someone not among its managers. The HTTP API answers it 403 (`forbidden`), any other refusal
    422: the workflow says which by the error's type (`workflows.runtime.refused`), never by its
    words."""

    code = "forbidden"
    failure_type = "NotEntitled"


class Message(BaseModel):
    """What every message and start document is: a field it does not have is refused, and text
    is read without surrounding spaces."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Person(Message):
    id: Ref
    role: Literal[ROLES] = "professional"  # type: ignore[valid-type]
    email: Email | None = None
    # Urgent alerts (a missing child, action with the police) also go by text message to a
    # person with a mobile number, where GOV.UK Notify is configured.
    mobile: Mobile | None = None


class PlanStart(Message):
    plan_id: Ref
    child_ref: Ref
    policy: Annotated[str, StringConstraints(pattern=PROFILE_ID_PATTERN)]
    icpc_date: Day
    conference_kind: Literal["initial", "transfer-in", "pre-birth"] = "initial"
    category: Literal["physical", "emotional", "sexual", "neglect"]
    lead_social_worker: Person
    team_manager: Person
    service_manager: Person | None = None
    senior_manager: Person | None = None
    core_group: list[Person] = Field(default_factory=list, max_length=50)
    first_core_group_date: MaybeDay = None
    first_review_date: MaybeDay = None
    visit_interval_working_days: Count | None = Field(default=None, ge=1, le=60)
    core_group_interval_weeks: Count | None = Field(default=None, ge=1, le=26)
    expected_birth_date: MaybeDay = None
    chair: Person | None = None  # the review conference chair (001 6.4.3); the profile says if required
    # The child seen alone at intervals the conference sets (000 9.4.6), where the profile has
    # the clock; left out, the profile's.
    seen_alone_interval_weeks: Count | None = Field(default=None, ge=1, le=26)
    # A transfer-in plan: the day the two authorities agreed the transfer; its conference (the
    # ICPC date) is due within the profile's `transfer_in.conference_within` of it (002).
    transfer_agreement_date: MaybeDay = None

    @model_validator(mode="after")
    def _coherent(self) -> PlanStart:
        problems: list[tuple[str, str]] = []
        ids = [p.id for p in self.core_group]
        if len(ids) != len(set(ids)):
            problems.append(("core_group", "member ids must be unique"))
        if self.conference_kind == "pre-birth" and self.expected_birth_date is None:
            problems.append(("expected_birth_date", "required for a pre-birth plan"))
        if self.first_core_group_date and self.first_core_group_date < self.icpc_date:
            problems.append(("first_core_group_date", "is before the conference"))
        if self.first_review_date and self.first_review_date <= self.icpc_date:
            problems.append(("first_review_date", "must be after the conference"))
        if self.transfer_agreement_date and self.conference_kind != "transfer-in":
            problems.append(("transfer_agreement_date", "only a transfer-in plan has one"))
        if self.transfer_agreement_date and self.transfer_agreement_date > self.icpc_date:
            problems.append(("transfer_agreement_date", "is after the transfer conference (icpc_date)"))
        if problems:
            raise ValueError("; ".join(f"{f}: {r}" for f, r in problems))
        return self

    def staff(self) -> list[tuple[str, Person]]:
        """The plan's staff by their place in the start document."""
        slots = [("lead_social_worker", self.lead_social_worker), ("team_manager", self.team_manager)]
        optional = (("service_manager", self.service_manager), ("senior_manager", self.senior_manager))
        return slots + [(name, p) for name, p in optional if p]

    def people(self) -> list[Person]:
        found = [self.lead_social_worker, self.team_manager, *self.core_group]
        found += [p for p in (self.service_manager, self.senior_manager, self.chair) if p]
        return found

    def managers(self) -> list[Person]:
        return [p for p in (self.team_manager, self.service_manager, self.senior_manager) if p]


def parse(model: type[BaseModel], raw: Any, *, lax: bool = False, any_year: bool = False) -> Any:
    """Validate a raw message; a `Refusal` names each bad field. `lax`: read dates, flags and
    counts as pydantic does by default (histories recorded before the types were strict).
    `any_year`: a date in any year (histories recorded before FIRST_YEAR..LAST_YEAR)."""
    if isinstance(raw, model):
        return raw
    if not isinstance(raw, dict):
        raise Refusal.one("(payload)", f"expected a JSON object, got {type(raw).__name__}")
    try:
        return model.model_validate(raw, context={"lax": lax, "bounded": not any_year})
    except ValidationError as err:
        problems = []
        for item in err.errors():
            field = ".".join(str(p) for p in item["loc"]) or "(payload)"
            problems.append((field, _sentence(item)))
        raise Refusal(problems) from None


def implausible_start(start: PlanStart, today: date) -> list[tuple[str, str]]:
    """What a start document cannot mean, whatever the profile: a conference more than
    OLDEST_PLAN_YEARS ago, a birth expected implausibly far from the conference, a member of the
    family in a member of staff's place, staff who cannot be written to."""
    problems: list[tuple[str, str]] = []
    if start.icpc_date < _years_from(today, -OLDEST_PLAN_YEARS):
        problems.append(("icpc_date", f"{start.icpc_date} is more than {OLDEST_PLAN_YEARS} years ago; check the date"))
    birth, icpc = start.expected_birth_date, start.icpc_date
    if birth is not None and not _years_from(icpc, -1) <= birth <= _years_from(icpc, 1):
        problems.append(("expected_birth_date", "must be within a year of the conference"))
    for slot, person in start.staff():
        if person.role in FAMILY_ROLES or person.role == "partnership":
            problems.append((f"{slot}.role", f"must be a member of staff, not {person.role!r}"))
    for slot, person in start.staff()[:2]:
        if not person.email:
            problems.append((f"{slot}.email", "required: reminders and escalations are sent to this person"))
    return problems


def email_problem(address: str) -> str | None:
    """Why `address` is not an address mail can be sent to (its syntax only: no DNS look-up, so
    the answer never changes with the network), or None. The pattern of `Email` lets through
    what a mailer refuses later (`a@evil.com,b.org`, `x>y@evil.com`)."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:
        return f"must be an e-mail address such as name@example.org ({err})"
    return None


# Places in a start document for members of staff, each one person's only staff role.
STAFF_SLOTS = ("lead_social_worker", "team_manager", "service_manager", "senior_manager", "chair")


def incoherent_start(start: PlanStart) -> list[tuple[str, str]]:
    """People a start document cannot mean: an address no mail can reach, one person in two
    staff places (the lead social worker also the team manager), a member of the family in the
    chair, or a member of staff who is also in the core group as family."""
    problems: list[tuple[str, str]] = []
    staff = [(slot, p) for slot in STAFF_SLOTS if (p := getattr(start, slot)) is not None]
    places: dict[str, str] = {}
    for slot, person in staff:
        if person.id in places:
            problems.append((f"{slot}.id", f"is already the plan's {places[person.id]}: one person, one staff role"))
        places.setdefault(person.id, slot)
    chair = start.chair
    if chair is not None and chair.role in (*FAMILY_ROLES, "partnership"):
        problems.append(("chair.role", f"must be a member of staff, not {chair.role!r}"))
    for i, member in enumerate(start.core_group):
        if member.role in FAMILY_ROLES and member.id in places:
            problems.append((f"core_group.{i}.id", f"is the plan's {places[member.id]}, not a member of the family"))
    everyone = [(slot, p) for slot, p in staff] + [(f"core_group.{i}", p) for i, p in enumerate(start.core_group)]
    for slot, person in everyone:
        if person.email and (problem := email_problem(person.email)):
            problems.append((f"{slot}.email", problem))
    return problems


def _years_from(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# A pattern means nothing to the person who typed the value: say in words what is allowed.
PATTERN_SENTENCES = {
    REF_PATTERN: "must be an opaque reference: letters, digits and . _ : -, up to 64 characters, no spaces or @",
    EMAIL_PATTERN: "must be an e-mail address such as name@example.org, without spaces",
    MOBILE_PATTERN: "must be a UK mobile number such as 07700 900123 or +447700900123",
    PROFILE_ID_PATTERN: "must be a profile id: lower-case letters, digits and -, e.g. london",
}


def _sentence(item: Any) -> str:
    """Pydantic's error as a sentence a practitioner can act on (the field is named apart)."""
    kind = item.get("type")
    if kind == "string_pattern_mismatch":
        pattern = str((item.get("ctx") or {}).get("pattern"))
        return PATTERN_SENTENCES.get(pattern, "is not written in the form this field takes")
    if kind == "extra_forbidden":
        return "Extra inputs are not permitted: this message has no such field"
    return str(item["msg"]).removeprefix("Value error, ")
