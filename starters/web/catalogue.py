"""The messages the API and pages offer, derived from the one table of workflow messages.

`message_specs()` is the only place that reads that table (`starters.plans.MESSAGES` today), so
moving to another registry changes this function alone. Each spec says whether the message is
always a manager's decision; two are one only sometimes (see `conditional_manager`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, create_model

from workflows import models as m

# Decisions 000 and the other seeds give to a manager (000 9.4.7 visit frequency, 9.4.14 early
# review, the escalation route; a change of lead social worker changes who the family contacts).
ALWAYS_MANAGER = frozenset(
    {
        "set_visit_frequency",
        "authorise_early_review",
        "decline_early_review",
        "escalate",
        "change_lead_social_worker",
    }
)
# A manager's decision only sometimes: moving a set review conference (000 9.4.12) and ending a
# plan at its first review conference (exceptional circumstances, 001 5.2 / 004).
CONDITIONAL_MANAGER = frozenset({"schedule_meeting", "record_review_conference"})


@dataclass(frozen=True)
class MessageSpec:
    name: str  # the workflow's name, record_visit
    dash: str  # the route's, record-visit
    model: type[m._Message]
    kind: str  # update or signal
    request_model: type[BaseModel]  # what a caller sends: the model, `by` left to the sign-in
    manager: bool

    @property
    def has_by(self) -> bool:
        return "by" in self.model.model_fields

    @property
    def by_required(self) -> bool:
        return self.has_by and self.model.model_fields["by"].is_required()

    @property
    def summary(self) -> str:
        return f"{self.name.replace('_', ' ')} ({self.kind})"


def _request_model(model: type[m._Message]) -> type[BaseModel]:
    """The message as callers send it: `by` optional (it is set from the sign-in)."""
    if "by" not in model.model_fields:
        return model
    return create_model(
        model.__name__ + "Request",
        __base__=model,
        __doc__=(model.__doc__ or "") + " `by` is the signed-in person; a different one is refused.",
        by=(m.Ref | None, None),
    )


@cache
def message_specs() -> dict[str, MessageSpec]:
    """Dash name -> spec, one per workflow message, in the table's order."""
    from starters.plans import MESSAGES

    return {
        name.replace("_", "-"): MessageSpec(
            name=name,
            dash=name.replace("_", "-"),
            model=model,
            kind=kind,
            request_model=_request_model(model),
            manager=name in ALWAYS_MANAGER,
        )
        for name, (model, kind) in MESSAGES.items()
    }


def conditional_manager(spec: MessageSpec, payload: dict[str, Any], status: dict[str, Any]) -> bool:
    """Whether this payload is a manager's decision on this plan (status: the plan's `status`).
    Whether a review date is already set (so that moving it needs a manager) only the workflow
    knows: for that, a caller without a manager role sends no `by` and the workflow refuses."""
    if spec.name == "record_review_conference":
        return payload.get("outcome") == "end" and int(status.get("reviews_held") or 0) == 0
    return False
