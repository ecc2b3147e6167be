"""What the plan workflow sends to its activities and gets back (one model each, so fields can
be added without breaking running plans)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from workflows.engine import Notification
from workflows.policy import Profile

LOAD_PLAN_CONTEXT = "load_plan_context"
NOTIFY = "notify"
SAVE_PLAN = "save_plan"


class PlanContextRequest(BaseModel):
    policy: str
    first_year: int
    last_year: int


class PlanContext(BaseModel):
    """Loaded once per run: the profile and the authority's non-working days, kept in the
    workflow's history so a later `holidays` or profile release never changes a replay."""

    profile: Profile
    non_working_days: list[date]


class NotifyBatch(BaseModel):
    plan_id: str
    notifications: list[Notification]


class DeliveryFailure(BaseModel):
    key: str
    to_id: str
    reason: str


class NotifyResult(BaseModel):
    delivered: list[str] = []
    failed: list[DeliveryFailure] = []


class PlanSnapshot(BaseModel):
    plan_id: str
    status: dict[str, Any]
    updated_at: datetime
