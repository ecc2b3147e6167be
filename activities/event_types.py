"""The events cpplan sends to case systems, declared once: each type's name, when it is sent and
the shape of its `data` (docs/contract.md, "Events out").

activities/event_facts.py makes the events; the OpenAPI document's `webhooks`
(starters/web/openapi_webhooks.py) is made from `EVENTS`, one entry per type. The data models
say what the events carry, field for field: every real event validates against them
(tests/web/test_openapi_webhooks.py), so a field added to an event is documented or that fails.

Data holds opaque references (the case system's ids, staff ids), codes and dates only. A field
without a value is left out, so fields that a plan may not have are optional.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TYPE_PREFIX = "uk.gov.cpplan."


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(description="the plan's id, as the case system gave it (also the event's `subject`)")


class PlanStartedData(EventData):
    child_ref: str = Field(description="the case system's reference for the child")
    policy: str = Field(description="the authority's policy profile the plan's timescales follow")
    conference_kind: str = Field(description="`initial`, `transfer-in` or `pre-birth`")
    icpc_date: date = Field(description="the date of the conference that made the plan")
    lead_social_worker: str = Field(description="the lead social worker's staff id")
    team_manager: str = Field(description="the team manager's staff id")


class ObligationData(EventData):
    obligation_id: str = Field(description="the obligation's id on the plan (`visit-3`, `first-core-group`)")
    kind: str = Field(description="what is owed (`visit`, `core-group`, `review-conference`, ...)")
    due: date = Field(description="the date it was due by")
    member_id: str | None = Field(None, description="the id of the plan member it is owed by (a signature), if one")


class ObligationOverdueData(ObligationData):
    pass


class ObligationMetData(ObligationData):
    met_on: date | None = Field(description="the date it was met (null when the plan did not record one)")
    late: bool = Field(description="true when it was met after its date")


class PlanEscalatedData(EventData):
    kind: str = Field(
        description="a code for why: `overdue` (an obligation), `manager-escalation`, `missing`, `no-access`, ..."
    )
    level: int = Field(
        description="the level: 1, then 2 for an overdue obligation still not met (the profile says who is told)"
    )
    to: str = Field(description="the id of the person told (as the plan names its people)")
    obligation_id: str | None = Field(None, description="the obligation escalated, if one")


class ReviewHeldData(EventData):
    number: int = Field(ge=1, description="which review: 1 for the first")
    held_on: date | None = Field(None, description="the date it was held")
    outcome: str | None = Field(None, description="`continue`, `end` or `transfer-out`")
    obligation_id: str | None = Field(None, description="the review obligation it met")


class PlanEndedData(EventData):
    ended_on: date | None = Field(None, description="the date the plan ended")
    end_reason: str | None = Field(
        None, description="why, in a fixed phrase (`ended at review conference`, `transferred out`, `child died`)"
    )


class MessageUnreadableData(EventData):
    message: str = Field(description="the message's name (never its content)")
    received_on: date | None = Field(None, description="the date it was received")


@dataclass(frozen=True)
class EventType:
    type: str
    summary: str
    when: str
    data: builtins.type[EventData]  # `type` is the event's type here

    @property
    def name(self) -> str:
        """The type without its prefix: `plan.started`."""
        return self.type.removeprefix(TYPE_PREFIX)

    def data_schema(self) -> dict[str, Any]:
        """The JSON Schema of `data`: an optional field is absent, never null."""
        schema = self.data.model_json_schema()
        required = set(schema.get("required", []))
        for name, field in schema["properties"].items():
            if name not in required:
                field.pop("default", None)
                options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
                if options:
                    field.update(options[0])
        return schema


PLAN_STARTED = TYPE_PREFIX + "plan.started"
OBLIGATION_OVERDUE = TYPE_PREFIX + "obligation.overdue"
OBLIGATION_MET = TYPE_PREFIX + "obligation.met"
PLAN_ESCALATED = TYPE_PREFIX + "plan.escalated"
REVIEW_HELD = TYPE_PREFIX + "review.held"
PLAN_ENDED = TYPE_PREFIX + "plan.ended"
MESSAGE_UNREADABLE = TYPE_PREFIX + "message.unreadable"

EVENTS = (
    EventType(PLAN_STARTED, "Plan started", "the plan's first status is saved", PlanStartedData),
    EventType(
        OBLIGATION_OVERDUE,
        "Obligation overdue",
        "an obligation's date passed with nothing recorded (status `overdue`, or `escalated` after its date); "
        "once per obligation",
        ObligationOverdueData,
    ),
    EventType(OBLIGATION_MET, "Obligation met", "an obligation is met (status `met` or `met-late`)", ObligationMetData),
    EventType(
        PLAN_ESCALATED,
        "Plan escalated",
        "an escalation is added to the plan (an obligation escalated, a manager's escalation, a missing "
        "child, a message that could not be read or applied): a person has been told",
        PlanEscalatedData,
    ),
    EventType(
        REVIEW_HELD,
        "Review held",
        "a review conference is recorded as held (an inquorate one is not held)",
        ReviewHeldData,
    ),
    EventType(PLAN_ENDED, "Plan ended", "the plan ends", PlanEndedData),
    EventType(
        MESSAGE_UNREADABLE,
        "Message unreadable",
        "a message the plan could not read is kept in its history (past 20 in a day the plan only counts them)",
        MessageUnreadableData,
    ),
)
EVENT_TYPES = tuple(e.type for e in EVENTS)
