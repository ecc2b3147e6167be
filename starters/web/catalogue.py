"""The messages the API and pages offer, derived from the registry (workflows/messages.py).

`message_specs()` is the only place here that reads it. The capacity a message needs on the plan
(practitioner, manager, service-manager) is the registry's `decided_by`; two practitioners'
messages are a manager's decision only sometimes (see `conditional_manager`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, create_model

from workflows import models as m
from workflows.messages import PLAN_MESSAGES

# A manager's decision only sometimes: moving a set review conference (000 9.4.12) and ending a
# plan at its first review conference (exceptional circumstances, 001 5.2 / 004).
CONDITIONAL_MANAGER = frozenset({"schedule_meeting", "record_review_conference"})


@dataclass(frozen=True)
class MessageSpec:
    name: str  # the workflow's name, record_visit
    dash: str  # the route's, record-visit
    model: type[BaseModel]
    kind: str  # update or signal
    request_model: type[BaseModel]  # what a caller sends: the model, `by` left to the sign-in
    manager: bool
    # The capacity it needs on the plan (workflows/message_spec.py): practitioner, manager or
    # service-manager; the sender is checked against the plan status's `entitled`.
    capacity: str = "practitioner"

    @property
    def has_by(self) -> bool:
        return "by" in self.model.model_fields

    @property
    def by_required(self) -> bool:
        return self.has_by and self.model.model_fields["by"].is_required()

    @property
    def summary(self) -> str:
        return f"{self.name.replace('_', ' ')} ({self.kind})"


def _request_model(model: type[BaseModel]) -> type[BaseModel]:
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
    """Dash name -> spec, one per workflow message, in the registry's order."""
    return {
        spec.command: MessageSpec(
            name=spec.name,
            dash=spec.command,
            model=spec.model,
            kind=spec.kind,
            request_model=_request_model(spec.model),
            manager=spec.managers_only,
            capacity=spec.decided_by,
        )
        for spec in PLAN_MESSAGES
    }


def conditional_manager(spec: MessageSpec, payload: dict[str, Any], status: dict[str, Any]) -> bool:
    """Whether this payload is a manager's decision on this plan (status: the plan's `status`).
    Whether a review date is already set (so that moving it needs a manager) only the workflow
    knows: for that, a caller without a manager role sends no `by` and the workflow refuses."""
    if spec.name == "record_review_conference":
        return payload.get("outcome") == "end" and int(status.get("reviews_held") or 0) == 0
    return False
