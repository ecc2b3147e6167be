"""What the API answers, as models: they give `/api/openapi.json` its response bodies.

The handlers build plain JSON; these say its shape (the schemathesis test checks every answer
against them). The plan's status is the workflow's own `PlanStatus` (workflows/status.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflows.status import PlanStatus

CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"


class FieldProblem(BaseModel):
    field: str = Field(description="the field at fault, dotted (`lead_social_worker.email`), or `(payload)`")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, for every failure."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "https://cpplan.invalid/problems/refused",
                "title": "Refused: nothing was changed",
                "status": 422,
                "detail": "date: Input should be a valid date written YYYY-MM-DD",
                "instance": "/api/plans/P-1/record-visit",
                "errors": [{"field": "date", "reason": "Input should be a valid date written YYYY-MM-DD"}],
            }
        }
    )

    type: str = Field(
        description="a URI naming the kind of problem: https://cpplan.invalid/problems/ followed by malformed, "
        "not-signed-in, forbidden, not-found, method-not-allowed, conflict, too-large, unsupported-media-type, "
        "refused, too-many-requests, unavailable or no-answer (an identifier, not a page)"
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str = Field(description="the path asked for")
    errors: list[FieldProblem] = Field(description="each field at fault; empty when no field is")


class Started(BaseModel):
    plan_id: str
    workflow_id: str


class Accepted(BaseModel):
    """A report (a signal) kept by the plan."""

    accepted: str = Field(description="the message's name")


class Recorded(BaseModel):
    """An update's result: what the plan recorded (its fields depend on the message)."""

    model_config = ConfigDict(extra="allow")


class CalendarFeed(BaseModel):
    url: str = Field(description="the secret calendar address; the old one stops")
    note: str


class FeedRevoked(BaseModel):
    revoked: bool = Field(description="whether there was an address to stop")


class WorkItem(BaseModel):
    plan_id: str
    obligation_id: str
    kind: str
    due: str = Field(description="YYYY-MM-DD")
    status: str
    overdue: bool
    team: str | None
    lead_social_worker: str | None


class Undelivered(BaseModel):
    """A message of the plan that was not delivered: the person in it was not told."""

    plan_id: str
    key: str
    to: str | None
    channel: str | None
    medium: str | None
    status: str | None = Field(description="what the provider said of it")
    at: str | None = Field(description="when that was known (ISO 8601)")
    plan_told: bool = Field(description="whether the plan has been told (and its people with it)")


class WorkList(BaseModel):
    today: str = Field(description="London's today, YYYY-MM-DD")
    due_within_working_days: int
    items: list[WorkItem]
    next: str | None = Field(description="the cursor of the next page; null on the last page")
    undelivered: list[Undelivered] = Field(description="messages of these plans not delivered, latest first")


class HistoryEntry(BaseModel):
    """An entry of the plan's history (`at`, `on`, `event` and its details), with its place."""

    model_config = ConfigDict(extra="allow")

    position: int = Field(ge=0)


class History(BaseModel):
    plan_id: str
    total: int = Field(ge=0, description="entries in all")
    entries: list[HistoryEntry] = Field(description="oldest first")
    next_cursor: int | None = Field(description="the `cursor` of the next page; null on the last page")


def plan_status_schema() -> dict[str, Any]:
    """`PlanStatus` as the status query writes it: a history entry's details sit beside its
    `at`, `on` and `event` (workflows.status.HistoryView), so its schema lists those three and
    allows the rest."""
    schema = PlanStatus.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    history = defs.get("HistoryView")
    if history is not None:
        history["properties"].pop("detail", None)
        history["required"] = [r for r in history.get("required", []) if r != "detail"]
        history["additionalProperties"] = True
    return {"PlanStatus": schema, **defs}
