"""An ending recorded in error put right: a death reported in error, or a review conference
recorded as ending the plan when it did not, reopened by the plan's service manager within
`PlanRules.REOPEN_WITHIN` of being recorded. The plan continues with its obligations as they
were; the error and the reopening stay in its history, and everyone told of the ending is told it
was wrong. The workflow stays open for that long after an ending (Patches.entitled_senders), its
clocks stopped, then completes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.plan_rules.reviews import RecordReviewConference, ReviewRules


class ReopenPlan(m.Message):
    by: m.Ref
    reason_ref: m.Ref | None = None


REOPEN_PLAN = update(
    "reopen_plan",
    ReopenPlan,
    "an ending recorded in error put right by the plan's service manager, within 30 days: the plan continues",
    decided_by="service-manager",
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (REOPEN_PLAN,)

# Opened by an ending at a review conference, moot once the plan continues.
STEP_DOWN_KINDS = ("cin-meeting", "step-down-supervision")


class EndingRules(ReviewRules):
    """reopen_plan, and the end of the time an ending may be put right in."""

    def reopen_plan(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: ReopenPlan = self._parse(ReopenPlan, raw)
        s = self.state
        today = local_date(now)
        self._check_entitled("by", msg.by, "service-manager", today)
        if s.state != "ended":
            raise m.Refusal.one("(plan)", "the plan has not ended: there is nothing to reopen")
        if s.reopen_by is None or now > s.reopen_by:
            raise m.Refusal.one(
                "(plan)",
                f"the plan ended on {s.ended_on} ({s.end_reason}); only a death or an ending at a review "
                f"conference, within {self.REOPEN_WITHIN.days} days of being recorded, may be put right",
            )
        if not apply:
            return {}
        ended_on, reason, ended_at = s.ended_on, s.end_reason, s.ended_at
        restored = list(s.closed_at_end)
        s.obligations += restored
        closed: list[str] = []
        if reason == "ended at review conference" and ended_on is not None:
            # The conference was held (its record is still owed); the plan goes on to the next.
            moot = [o for o in s.obligations if o.open and o.kind in STEP_DOWN_KINDS]
            closed = [o.id for o in moot]
            s.obligations = [o for o in s.obligations if o not in moot]
            held = RecordReviewConference.model_construct(date=ended_on, outcome="continue", next_review_date=None)
            later = self.profile.later_review.within.after(ended_on, self.cal)
            restored.append(self._open_next_review(held, later))
        s.state, s.ended_on, s.end_reason = "active", None, None
        s.missing_since = s.missing_at_end
        s.ended_at, s.closed_at_end, s.missing_at_end, s.reopen_by = None, [], None, None
        self._log(
            now,
            today,
            "plan-reopened",
            by=msg.by,
            reason_ref=msg.reason_ref,
            ended_on=ended_on.isoformat() if ended_on else None,
            end_reason=reason,
            restored=[o.id for o in restored] or None,
            closed=closed or None,
        )
        self._tell_ending_was_wrong(now, ended_at, f"{ended_on} ({reason})", msg.by)
        return {"state": "active", "restored": [o.id for o in restored], "next_due": self._next_due_iso()}

    def _tell_ending_was_wrong(self, now: datetime, ended_at: datetime | None, ending: str, by: str) -> None:
        """Everyone written to about the plan, and whoever was alerted to its ending."""
        words = (
            f"The ending of this plan recorded on {ending} was recorded in error and has been put right by {by}. "
            "The plan continues, with its visits, meetings and other obligations as they were."
        )
        n = self._next_number("letter")
        self._letters(now, f"letter-{n}", "the plan continues: its ending was recorded in error", words)
        written = {p.id for p in self._everyone(local_date(now))}
        alerted = dict.fromkeys(e.to for e in self.state.escalations if ended_at is not None and e.at == ended_at)
        others = [self._known_person(pid) for pid in alerted if pid not in written]
        if others:
            self._alert(
                now, "ending-recorded-in-error", others, "the plan continues: its ending was recorded in error", words
            )

    def _known_person(self, person_id: str) -> m.Person:
        partnership = self._partnership()
        if person_id == partnership.id:
            return partnership
        return self._person(person_id) or m.Person(id=person_id, role="senior-manager")

    def _next_due_iso(self) -> str | None:
        nxt = self._next_due()
        return nxt.due.isoformat() if nxt else None

    def other_wakeups(self) -> list[datetime]:
        later = super().other_wakeups()
        return later + [self.state.reopen_by] if self.state.reopen_by is not None else later

    def fire_others(self, now: datetime) -> int:
        """Once the time to put an ending right has passed, the ending is final."""
        s = self.state
        if s.reopen_by is not None and now >= s.reopen_by:
            s.reopen_by, s.closed_at_end, s.missing_at_end = None, [], None
            self._log(now, local_date(now), "ending-final", end_reason=s.end_reason)
        return super().fire_others(now)
