"""What a message is, as the registry declares it (docs/contract.md, "Messages").

A `MessageSpec` names the message, says whether it is an update (validated, refused with a
reason) or a signal (a report that must never be lost), gives its payload model and who may
decide it. Each rule module declares its messages' specs beside their payload models and rules
(`workflows.plan_rules.visits`, ...); `workflows.messages` composes them. This module imports
nothing of the project's, so that any rule module can import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Kind = Literal["update", "signal"]
# The capacity a message needs on *that* plan (docs/contract.md, "Who may send what"):
# - "practitioner": the plan's lead social worker (or their cover), a professional of its core
#   group, or one of its managers; or the case system relaying a record without naming a person;
# - "manager": one of the plan's managers (team, service or senior manager);
# - "service-manager": the plan's service manager (or its senior manager).
# The HTTP API checks the signed-in person against the plan's people (`PlanEngine.entitled`, in
# the status as `entitled`); the workflow checks a message's `by` where it has one. `ops` holds
# no capacity: it reads, and never writes to a plan.
DecidedBy = Literal["practitioner", "manager", "service-manager"]
CAPACITIES: tuple[DecidedBy, ...] = ("practitioner", "manager", "service-manager")
# Who holds each capacity, in the words of a refusal ("'x' is not ...").
CAPACITY_WORDS: dict[str, str] = {
    "practitioner": "this plan's lead social worker, a professional of its core group or one of its managers",
    "manager": "one of this plan's managers",
    "service-manager": "this plan's service manager (or senior manager)",
}


@dataclass(frozen=True)
class MessageSpec:
    name: str
    kind: Kind
    model: type[BaseModel]
    help: str
    decided_by: DecidedBy = "practitioner"

    @property
    def managers_only(self) -> bool:
        """A manager's decision: a person in a manager's capacity must send it."""
        return self.decided_by != "practitioner"

    @property
    def command(self) -> str:
        """The command line's sub-command and the HTTP API's path segment."""
        return self.name.replace("_", "-")


def update(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "update", model, help, decided_by)


def signal(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "signal", model, help, decided_by)
