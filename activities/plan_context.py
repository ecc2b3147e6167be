"""The `load_plan_context` activity: an authority's profile and non-working days, once per run.

Done in an activity (not in workflow code) because both change between releases: profile
files are edited and the `holidays` package is updated. The workflow keeps what this returned
in its history, so a replay always sees the same dates.
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.activity_io import LOAD_PLAN_CONTEXT, PlanContext, PlanContextRequest
from workflows.calendar import non_working_days
from workflows.policy import PolicyError, Profile, load_profiles


def _load_profile(policy: str) -> Profile:
    # Same lookup as `workflows.policy.get_profile`, split in two so that a broken profile file
    # (InvalidPolicy) is told apart from a plan naming a profile nobody has (UnknownPolicy).
    try:
        profiles = load_profiles()
    except PolicyError as err:
        raise ApplicationError(str(err), type="InvalidPolicy", non_retryable=True) from None
    if policy not in profiles:
        known = ", ".join(sorted(profiles))
        raise ApplicationError(
            f"policy: unknown profile {policy!r}; known: {known}", type="UnknownPolicy", non_retryable=True
        )
    return profiles[policy]


def plan_context(req: PlanContextRequest) -> PlanContext:
    """The context itself; also loaded by `starters.cases.start_plan`, which sends it with the
    start so that a new plan's first workflow task need not run this activity."""
    profile = _load_profile(req.policy)
    if req.first_year > req.last_year:
        raise ApplicationError(
            f"first_year {req.first_year} is after last_year {req.last_year}", type="InvalidPayload", non_retryable=True
        )
    try:
        days = non_working_days(profile.region, req.first_year, req.last_year, profile.closure_days)
    except ValueError as err:
        raise ApplicationError(f"policy {req.policy!r}: {err}", type="InvalidPolicy", non_retryable=True) from None
    return PlanContext(profile=profile, non_working_days=days)


@activity.defn(name=LOAD_PLAN_CONTEXT)
async def load_plan_context(req: PlanContextRequest) -> PlanContext:
    # Reading TOML files and building holiday tables blocks: keep it off the worker's loop.
    return await asyncio.to_thread(plan_context, req)
