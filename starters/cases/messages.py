"""The messages a client may send, projected once from the registry (workflows/messages.py).

The command line's sub-commands (starters/options.py), the HTTP API's routes and the pages'
forms (starters/web) and the complaint commands (starters/complaints.py) all read
`PLANS.messages` or `COMPLAINTS.messages`; nothing else reads the registry for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, create_model

import workflows
from starters.cases.errors import ClientError
from workflows import models as m
from workflows.complaint_rules import COMPLAINT_WORKFLOW_TYPE, complaint_workflow_id
from workflows.message_spec import DecidedBy, Kind, MessageSpec
from workflows.messages import COMPLAINT_MESSAGES, PLAN_MESSAGES

# Values a message always carries, whoever sends it (the command line sets them itself):
# change-lead-social-worker always names a lead social worker.
FIXED: dict[str, dict[tuple[str, ...], Any]] = {
    "change_lead_social_worker": {("person", "role"): "lead-social-worker"},
}


def _request_model(model: type[BaseModel]) -> type[BaseModel]:
    """The message as a signed-in caller sends it: `by` optional (it is set from the sign-in)."""
    if "by" not in model.model_fields:
        return model
    return create_model(
        model.__name__ + "Request",
        __base__=model,
        __doc__=(model.__doc__ or "") + " `by` is the signed-in person; a different one is refused.",
        by=(m.Ref | None, None),
    )


@dataclass(frozen=True)
class ClientMessage:
    """One message as clients see it: its registry entry and what follows from it."""

    name: str  # the workflow's name: record_visit
    command: str  # the command line's sub-command and the API's path segment: record-visit
    kind: Kind  # update (validated, refused with a reason) or signal (a report, never lost)
    model: type[BaseModel]  # the payload the workflow takes
    request_model: type[BaseModel]  # what a signed-in caller sends: `by` left to the sign-in
    help: str
    # The capacity it needs on the plan (workflows/message_spec.py): practitioner, manager or
    # service-manager; the sender is checked against the plan status's `entitled`.
    capacity: DecidedBy
    fixed: dict[tuple[str, ...], Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: MessageSpec) -> ClientMessage:
        return cls(
            name=spec.name,
            command=spec.command,
            kind=spec.kind,
            model=spec.model,
            request_model=_request_model(spec.model),
            help=spec.help,
            capacity=spec.decided_by,
            fixed=FIXED.get(spec.name, {}),
        )

    @property
    def manager(self) -> bool:
        """A manager's decision: a person in a manager's capacity must send it."""
        return self.capacity != "practitioner"

    @property
    def has_by(self) -> bool:
        return "by" in self.model.model_fields

    @property
    def by_required(self) -> bool:
        return self.has_by and self.model.model_fields["by"].is_required()

    @property
    def summary(self) -> str:
        return f"{self.name.replace('_', ' ')} ({self.kind})"


@dataclass(frozen=True)
class CaseKind:
    """One kind of case a client talks to: its workflow type, how an id becomes the workflow's
    id, the word for it in messages, and the messages it takes (workflow name -> message)."""

    noun: str
    workflow_type: str
    workflow_id: Callable[[str], str]
    messages: dict[str, ClientMessage]

    def message(self, name: str) -> ClientMessage:
        """By the workflow's name (record_visit)."""
        found = self.messages.get(name)
        if found is None:
            raise ClientError(f"unknown message {name!r}; known: {', '.join(self.messages)}")
        return found

    @property
    def commands(self) -> dict[str, ClientMessage]:
        """Command name -> message, in the registry's order."""
        return {message.command: message for message in self.messages.values()}


def _messages(specs: tuple[MessageSpec, ...]) -> dict[str, ClientMessage]:
    return {spec.name: ClientMessage.of(spec) for spec in specs}


PLANS = CaseKind("plan", workflows.WORKFLOW_TYPE, workflows.workflow_id, _messages(PLAN_MESSAGES))
COMPLAINTS = CaseKind("complaint", COMPLAINT_WORKFLOW_TYPE, complaint_workflow_id, _messages(COMPLAINT_MESSAGES))


def check_message(name: str, payload: dict[str, Any], case_kind: CaseKind = PLANS) -> dict[str, Any]:
    """Validate a message's payload against its model (`Refusal` names each bad field) and
    return it normalised, still with only the fields given, so the model's defaults are the
    workflow's to apply."""
    return m.parse(case_kind.message(name).model, payload).model_dump(mode="json", exclude_unset=True)
