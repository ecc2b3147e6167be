"""One-off tasks recorded done: a core assessment, the child-in-need meeting, action agreed
with the police, conference administration (002 'Conference record'), a transfer conference held
(002 'Transfer Child Protection Conference'), the step-down supervision discussion (004). Each
recurring clock, an early review's decision and a missing child found have their own messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.obligations import ONE_OFF_KINDS
from workflows.plan_rules.base import PlanRules


class RecordMeeting(m.Message):
    """A meeting or task that meets a one-off obligation (child-in-need meeting, police action,
    conference administration)."""

    obligation_id: Annotated[str, StringConstraints(max_length=80)]
    date: m.Day


RECORD_COMPLETION = update(
    "record_completion",
    RecordMeeting,
    "a one-off task done: child-in-need meeting, police action, conference administration",
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (RECORD_COMPLETION,)


class CompletionRules(PlanRules):
    """record_completion."""

    def record_completion(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordMeeting = self._parse(RecordMeeting, raw)
        today = local_date(now)
        ob = next((o for o in self.state.obligations if o.id == msg.obligation_id), None)
        if ob is None:
            raise m.Refusal.one("obligation_id", f"no obligation {msg.obligation_id!r} on this plan")
        if ob.kind not in ONE_OFF_KINDS or ob.kind == "early-review-decision" or ob.kind == "child-found":
            raise m.Refusal.one("obligation_id", f"{ob.kind} is recorded with its own message, not record_completion")
        if not ob.open:
            raise m.Refusal.one("obligation_id", f"{ob.id} was already recorded on {ob.met_on}")
        self._check_past("date", msg.date, today, ob.opened_on, "the obligation was opened")
        if not apply:
            return {}
        ob.met_on = msg.date
        self._log(now, msg.date, "completed", obligation_id=ob.id)
        if ob.kind == "transfer-conference" and self.state.state == "active":
            # 002 'Transfer Child Protection Conference': held, so the plan is the receiving
            # authority's now; what this authority still owes its own conferences stays open.
            self._end(now, msg.date, f"transferred out ({ob.group})" if ob.group else "transferred out")
        return {"met": ob.id, "status": ob.status(today), "state": self.state.state}
