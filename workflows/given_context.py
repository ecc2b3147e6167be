"""A plan's context (its profile and non-working days) that came with its start or was carried
across continue-as-new, used instead of loading it again while it covers the years the run needs.

Pure code, run in the workflow: it only decides whether what the workflow was given will do.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from workflows.activity_io import PlanContext

# A given or carried calendar is used while it reaches this many years past the current one; a
# run ends at its next review conference (at most six months away), so this keeps more than a
# year of margin for an overdue review. Below it the run loads a fresh context by the activity.
MIN_YEARS_AHEAD = 2


def covered_years(context: PlanContext) -> tuple[int, int] | None:
    """The first and last year of the calendar. Every UK region has bank holidays at Christmas,
    so each year loaded has at least one non-working day."""
    days = context.non_working_days
    if not days:
        return None
    return min(days).year, max(days).year


def usable_context(given: Any, policy: str, first_year: int, this_year: int) -> PlanContext | None:
    """`given` as a PlanContext if it is one for `policy` covering `first_year` to
    `this_year + MIN_YEARS_AHEAD`; None if it is missing, unreadable, another profile's or too
    short (the workflow then loads the context by the activity, as a start without it does)."""
    if given is None:
        return None
    try:
        context = given if isinstance(given, PlanContext) else PlanContext.model_validate(given)
    except ValidationError:
        return None
    years = covered_years(context)
    if context.profile.id != policy or years is None:
        return None
    if years[0] > first_year or years[1] < this_year + MIN_YEARS_AHEAD:
        return None
    return context
