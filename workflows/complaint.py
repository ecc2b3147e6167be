"""`ConferenceComplaint`: one workflow per complaint about a child protection conference.

Id `cp-complaint-{complaint_id}`. A thin loop around `ComplaintEngine` (the rules, pure code in
`workflows.complaint_rules`), in the plan workflow's pattern:
- it loads the authority's profile and non-working days once, through the `load_plan_context`
  activity; a profile without a `[complaints]` rule fails the workflow (NoComplaintsProcedure);
- it waits for the earliest reminder or escalation, or for a message, in one timer;
- updates change the complaint synchronously (validators refuse bad input before it reaches
  the history) and leave notifications in its outbox, which the loop delivers through the
  `notify` activity, each under an idempotency key;
- it ends when the complaint is closed: the complainant satisfied (`close`) or the appeal
  outcome recorded (the end of the procedure).
A complaint lasts weeks, so it never needs to continue as new.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.runtime import EngineLoop, load_context, message_handlers

# Dates between 1900 and 2100 in the start and every step (as for plans, workflows/plan.py).
DATES_IN_RANGE_PATCH = "dates-1900-2100"

with workflow.unsafe.imports_passed_through():
    from workflows import models as m
    from workflows.calendar import WorkingCalendar
    from workflows.complaint_rules import (
        COMPLAINT_WORKFLOW_TYPE,
        ComplaintEngine,
        ComplaintStart,
        NoComplaintsProcedure,
    )
    from workflows.messages import COMPLAINT_MESSAGES

# Years of bank holidays loaded: the procedure takes months, with a margin for a complainant
# who takes their time to decide.
CALENDAR_YEARS_AHEAD = 3


@workflow.defn(name=COMPLAINT_WORKFLOW_TYPE)
@message_handlers(COMPLAINT_MESSAGES)
class ConferenceComplaint(EngineLoop):
    @workflow.init
    def __init__(self, start: Any) -> None:
        self.engine: ComplaintEngine | None = None
        self._wake = False

    # ------------------------------------------------------------------ the loop

    @workflow.run
    async def run(self, start: Any) -> dict[str, Any]:
        # Asked first: it decides how the start itself is read (workflows/plan.py).
        any_year = not workflow.patched(DATES_IN_RANGE_PATCH)
        try:
            complaint: ComplaintStart = m.parse(ComplaintStart, start, any_year=any_year)
        except m.Refusal as err:
            raise ApplicationError(
                f"invalid complaint start: {err}", type="InvalidComplaintStart", non_retryable=True
            ) from None
        context = await load_context(complaint.policy, complaint.received_date.year - 1, CALENDAR_YEARS_AHEAD)
        now = workflow.now()
        try:
            self.engine = ComplaintEngine.begin(
                complaint, context.profile, WorkingCalendar(context.non_working_days), now
            )
        except NoComplaintsProcedure as err:
            raise ApplicationError(str(err), type="NoComplaintsProcedure", non_retryable=True) from None
        except m.Refusal as err:
            raise ApplicationError(
                f"invalid complaint start: {err}", type="InvalidComplaintStart", non_retryable=True
            ) from None
        self.engine.any_year = any_year
        workflow.upsert_memo(
            {"complaint_id": complaint.complaint_id, "plan_id": complaint.plan_id, "policy": complaint.policy}
        )
        engine = self.engine

        while True:
            engine.fire(workflow.now())
            await self._deliver()
            if engine.finished:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not engine.state.outbox:
                    return engine.status(workflow.now()).as_json()
                continue
            await self._sleep_until_next()

    # ------------------------------------------------------------------ messages

    @workflow.query
    def status(self) -> dict[str, Any]:
        if self.engine is None:
            return {
                "state": "starting",
                "stage": None,
                "obligations": [],
                "escalations": [],
                "history": [],
                "next_due": None,
            }
        return self.engine.status(workflow.now()).as_json()
