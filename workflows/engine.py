"""The plan as the procedures describe it: state, the rules that move it, and what people are told.

Pure and deterministic: no clock of its own (every call is given `now`), no I/O. The Temporal
workflow in `workflows.plan` feeds it messages and the passing of time; the tests drive it
directly too. Every message method first checks its input against the plan and raises
`Refusal` (changing nothing), and only then changes the state. Notifications are appended to
`state.outbox`; the workflow delivers them through an activity, each under an idempotency key
built from business ids.

What every case has (obligations, reminders and escalations, history, outbox, faults) is the
case kernel's (`workflows.case`); the plan's own rules are in `workflows.plan_rules`, one
module per subject, composed here.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from typing import Any

from workflows.calendar import local_date
from workflows.case import Escalation, HistoryEntry, Notification
from workflows.obligations import Obligation, hold_by
from workflows.plan_rules.completions import CompletionRules
from workflows.plan_rules.deliveries import DeliveryRules
from workflows.plan_rules.endings import EndingRules
from workflows.plan_rules.incidents import IncidentRules
from workflows.plan_rules.meetings import MeetingRules
from workflows.plan_rules.people import PeopleRules
from workflows.plan_rules.start import StartRules
from workflows.plan_rules.state import Cover, Patches, PlanState
from workflows.plan_rules.timetable import before_birth, local_time_of, timetable
from workflows.plan_rules.visits import VisitRules
from workflows.status import HistoryView, ObligationStatus, PlanStatus

__all__ = [
    "Cover",
    "Escalation",
    "HistoryEntry",
    "Notification",
    "Patches",
    "PlanEngine",
    "PlanState",
    "before_birth",
    "local_time_of",
    "timetable",
]


class PlanEngine(
    StartRules, VisitRules, MeetingRules, EndingRules, IncidentRules, PeopleRules, CompletionRules, DeliveryRules
):
    """One plan's rules over its state. Build with `begin` (a new plan) or the constructor (a
    plan carried from its previous run)."""

    def status(self, now: datetime) -> PlanStatus:
        today = local_date(now)
        return self._status(today, [self._plan_obligation_view(o, today) for o in self.state.obligations])

    def status_json(self, now: datetime) -> dict[str, Any]:
        """`status(now).as_json()`, from the JSON of the last call where nothing it is made of
        has changed (workflows/status_json.py): the workflow's every task asks for it."""
        today = local_date(now)
        cache = self._status_json
        obligations = self.state.obligations
        out = self._status(today, [], history=[]).as_json()
        out["obligations"] = [
            cache.view(
                # Everything an obligation's view is made of (the calendar is the engine's own).
                (
                    o.id,
                    o.kind,
                    o.due,
                    o.limit,
                    o.met_on,
                    o.member_id,
                    o.source,
                    o.status(today),
                    self.patches.procedures,
                ),
                partial(self._obligation_json, o, today),
                len(obligations),
            )
            for o in obligations
        ]
        out["history"] = cache.history(self.state.history, lambda h: HistoryView.of(h).as_json())
        return out

    def _obligation_json(self, o: Obligation, today: date) -> dict[str, Any]:
        return self._plan_obligation_view(o, today).as_json()

    def _plan_obligation_view(self, o: Obligation, today: date) -> ObligationStatus:
        held = hold_by(o.due, self.cal) if self.patches.procedures else o.due
        return self._obligation_view(
            o, today, limit=o.limit, hold_by=held if held != o.due else None, member_id=o.member_id
        )

    def _status(
        self, today: date, obligations: list[ObligationStatus], history: list[HistoryView] | None = None
    ) -> PlanStatus:
        s = self.state
        return PlanStatus(
            plan_id=s.start.plan_id,
            child_ref=s.start.child_ref,
            policy=self.profile.id,
            state=s.state,
            icpc_date=s.start.icpc_date,
            conference_kind=s.start.conference_kind,
            lead_social_worker=self.lead_social_worker(today).id,
            team_manager=s.start.team_manager.id,
            managers=[p.id for p in s.start.managers()],
            # Null for a run without entitled-senders: its reports take no `by` (a `by` was a field
            # they did not have, and replays as such), so the API and the command line send none.
            entitled=self.entitled(today) if self.patches.entitled_senders else None,
            visit_interval_working_days=s.visit_interval_working_days,
            reviews_held=s.reviews_held,
            missing=s.missing_since is not None,
            ended_on=s.ended_on,
            end_reason=s.end_reason,
            obligations=obligations,
            overdue_count=self._overdue_count(today),
            escalations=self._escalation_views(),
            next_due=self._next_due(),
            history=self._history_views() if history is None else history,
        )
