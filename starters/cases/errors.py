"""What can go wrong talking to a plan, as typed failures with a reason code.

Every expected failure carries `code`, one of `REASONS`: the command line maps it to an exit
status (`starters.cli.EXIT_OF_REASON`) and the HTTP API to a status and problem type
(`starters.web.problems.STATUS_OF_CODE`), neither reading the words. The workflow's own
refusals are `workflows.models.Refusal` ("refused") and its `NotEntitled` ("forbidden"); a start
that clashes with a plan already there is `StartConflict` ("conflict", starters/cases/start.py).
"""

from __future__ import annotations

from typing import Literal, get_args

from workflows import models as m

Reason = Literal["refused", "forbidden", "conflict", "not_found", "no_answer", "busy", "unavailable"]
REASONS: tuple[Reason, ...] = get_args(Reason)


class ClientError(Exception):
    """An expected failure, with a one-line reason fit to show a user (no traceback).

    `code` is its reason: refused (bad input), forbidden (not the sender's on this plan),
    conflict, not_found, no_answer (no worker answered in time), busy (the plan was taking as
    many updates as the server allows), unavailable (Temporal could not take it)."""

    code: Reason = "unavailable"


class UnknownPlan(ClientError):
    """No such plan (or complaint) on the server, or it has ended."""

    code: Reason = "not_found"


class Refused(ClientError):
    """The workflow refused an update; the message names the field and why. `code` is
    "forbidden" when the sender is not entitled to it on this plan (`NotEntitledRefused`: the
    workflow's failure type says so, `m.NotEntitled`), "refused" for bad input."""

    def __init__(self, message: str, code: Reason = "refused"):
        super().__init__(message)
        self.code = code

    @property
    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) pairs: the workflow writes a refusal as `m.Refusal` does."""
        found = []
        for part in str(self).split("; "):
            name, sep, reason = part.partition(": ")
            found.append((name, reason) if sep else ("(plan)", part))
        return found


class NotEntitledRefused(Refused):
    """The workflow refused an update because its sender is not entitled to it on this plan
    (the error's type says so, `workflows.runtime.NOT_ENTITLED`: 403 on the HTTP API)."""

    def __init__(self, message: str):
        super().__init__(message, "forbidden")


class NoAnswer(ClientError):
    """No worker answered an update in time. The server keeps it: it may still be applied when a
    worker comes, and retrying it with the same request id is safe (it is applied once)."""

    code: Reason = "no_answer"


class Busy(ClientError):
    """The plan was taking as many updates at once as the server allows (its in-flight updates
    limit) for as long as the command waited: nothing was applied; retry shortly."""

    retry_after_s = 2
    code: Reason = "busy"


def reason_of(err: BaseException) -> Reason | None:
    """The reason code of an expected failure; None for anything else (a bug)."""
    if isinstance(err, (ClientError, m.Refusal)):
        code = getattr(err, "code", "unavailable")
        return code if code in REASONS else "unavailable"
    return None
