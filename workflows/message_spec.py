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
# Who may send it: anyone working on the plan, or only one of the plan's managers (the `by`
# field names them and the engine checks it against the plan's people).
DecidedBy = Literal["practitioner", "manager"]


@dataclass(frozen=True)
class MessageSpec:
    name: str
    kind: Kind
    model: type[BaseModel]
    help: str
    decided_by: DecidedBy = "practitioner"

    @property
    def command(self) -> str:
        """The command line's sub-command and the HTTP API's path segment."""
        return self.name.replace("_", "-")


def update(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "update", model, help, decided_by)


def signal(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "signal", model, help, decided_by)
