"""`ChildProtectionPlan`: one long-running workflow per child protection plan.

The workflow is a thin loop around `PlanEngine` (the procedures' rules, pure code):
- it takes the authority's profile and non-working days with its start (and carries them across
  continue-as-new), or loads them through an activity when not given or running short; either way
  they are in the history, so a `holidays` or profile release never changes what a replay sees;
- it waits for the earliest reminder or escalation, or for a message, in one timer;
- handlers change the plan's state synchronously and leave notifications in its outbox, which
  the loop delivers through the `notify` activity (each under an idempotency key);
- it continues as new after each review conference (and when the server suggests it),
  carrying the whole state, so a plan that runs for years keeps short histories.
"""

# No `from __future__ import annotations` here: the sandbox imports this module afresh for every
# plan it starts or replays, and the SDK then reads each handler's type hints; as strings, each
# would be compiled again every time.
import hashlib
import json
from datetime import timedelta
from typing import Any

from pydantic_core import to_json
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.runtime import LEAN_HISTORY_PATCH, EngineLoop, load_context, message_handlers, run_activity

with workflow.unsafe.imports_passed_through():
    import workflows
    from workflows import WORKFLOW_TYPE
    from workflows import models as m
    from workflows import search_attributes as sa
    from workflows.activity_io import SAVE_PLAN, PlanSnapshot
    from workflows.calendar import WorkingCalendar, local_date
    from workflows.engine import Patches, PlanEngine, PlanState
    from workflows.given_context import usable_context
    from workflows.messages import PLAN_MESSAGES
    from workflows.status import newest_history

# Years of bank holidays loaded with each run: a run ends at the next review conference
# (at most 6 months away), so this leaves years of margin for a review that is overdue.
CALENDAR_YEARS_AHEAD = 4
OVERDUE_WAKE_PATCH = "overdue-wake-at-midnight"
END_NEEDS_MANAGER_PATCH = "end-at-first-review-needs-manager"
STRICT_INPUT_PATCH = "messages-take-json-types"
# Reports checked like updates, a start document's types and plausibility checked, signatures not
# before circulation, staff reachable, police-action notices to professionals only
# (Patches.honest_records). Stricter checks that would refuse what older histories accepted.
HONEST_RECORDS_PATCH = "honest-records"
# The procedures' remaining rules (Patches.procedures): conference administration outlives the
# plan, who makes a statutory visit, ending at the first review per profile, transfer out, ending
# without a child-in-need plan, the core group before the review, a plan that cannot be
# implemented, hold-by dates. Histories recorded without the marker replay as they ran.
PROCEDURES_PATCH = "procedures-2"
# The context (profile and calendar) comes with the start (`starters.cases.start_plan` loads it
# with the activity's own function), so a plan's first run need not load it by the activity
# (workflows/given_context.py checks it will do). Later runs, one per review conference, load it
# afresh, so an authority's profile edit reaches each running plan at its next review. Histories
# recorded without the marker load it in every run, as they ran.
CONTEXT_IN_START_PATCH = "context-in-start"
# At most workflows.case.UNREADABLE_KEPT_A_DAY unreadable messages a day kept one by one in the
# history, the rest counted (Patches.bounded_unreadable). Histories recorded without the marker
# keep every one, as they ran.
BOUNDED_UNREADABLE_PATCH = "bounded-unreadable"
# The procedures' third round (Patches.procedures_3): whose act meets each clock, what moves with
# what, the first core group never arranged for the conference day, who is told, and what a
# conference sets. Histories recorded without the marker replay as they ran.
PROCEDURES_3_PATCH = "procedures-3"
# Who may send what, per plan (Patches.entitled_senders): a report's `by` checked against the
# plan's people, nobody of the family in a member of staff's place, escalations to managers,
# e-mail addresses checked, a signature never before its notes, and the workflow open for 30 days
# after an ending so that one recorded in error can be put right (`reopen_plan`). Histories
# recorded without the marker replay as they ran, and complete when they end.
ENTITLED_SENDERS_PATCH = "entitled-senders"
# Dates between 1900 and 2100 in the start and in every message (Patches.dates_in_range): a date
# past them was read before, and a calendar cannot count from 9999. Asked right after
# HONEST_RECORDS_PATCH, before the start is read. Histories without the marker read any year.
DATES_IN_RANGE_PATCH = "dates-1900-2100"


def _digest(status: dict[str, Any]) -> bytes:
    """Equal for equal statuses: one status's JSON always has its keys in the same order (the
    models' fields, then each history entry's details as the rule wrote them)."""
    return hashlib.blake2b(to_json(status), digest_size=16).digest()


def _carried_state(carried: Any) -> PlanState | None:
    """The SDK decodes arguments by the run method's type hints only when as many arguments came
    as it has parameters: a run continued with two (before CONTEXT_IN_START_PATCH, or without a
    context to carry) gets the state as plain JSON values. Validated from JSON, as the converter
    does, so the state is exactly what it would have decoded."""
    if carried is None or isinstance(carried, PlanState):
        return carried
    return PlanState.model_validate_json(json.dumps(carried))


@workflow.defn(name=WORKFLOW_TYPE)
@message_handlers(PLAN_MESSAGES)
class ChildProtectionPlan(EngineLoop):
    @workflow.init
    def __init__(self, start: Any, carried: PlanState | None = None, context: Any = None) -> None:
        self.engine: PlanEngine | None = None
        self._wake = False
        self._continue_as_new = False
        # A digest of the status last saved to the read model, not the status itself: a cached
        # plan mid-run would otherwise hold a second copy of its whole history in memory.
        self._published: bytes | None = None
        self._indexed: dict[str, Any] | None = None

    # ------------------------------------------------------------------ the loop

    @workflow.run
    async def run(self, start: Any, carried: PlanState | None = None, context: Any = None) -> dict[str, Any]:
        """Kept whole: its patch markers are asked at fixed points in a fixed order (histories
        depend on it), and the loop that follows is short."""
        # Asked before anything else, like LEAN_HISTORY_PATCH below: it decides how strictly the
        # start document itself is read.
        honest = workflow.patched(HONEST_RECORDS_PATCH)
        dates_in_range = workflow.patched(DATES_IN_RANGE_PATCH)
        carried = _carried_state(carried)
        try:
            plan_start: m.PlanStart = (
                carried.start if carried else m.parse(m.PlanStart, start, lax=not honest, any_year=not dates_in_range)
            )
        except m.Refusal as err:
            raise ApplicationError(f"invalid plan start: {err}", type="InvalidPlanStart", non_retryable=True) from None
        if honest and workflow.info().workflow_id != workflows.workflow_id(plan_start.plan_id):
            # Another plan's id would have this run overwrite that plan's read-model row.
            raise ApplicationError(
                f"invalid plan start: plan_id {plan_start.plan_id!r} does not belong to workflow "
                f"{workflow.info().workflow_id} (expected {workflows.workflow_id(plan_start.plan_id)})",
                type="InvalidPlanStart",
                non_retryable=True,
            )
        # Asked first, before any command: a run recorded without the marker meets the question
        # where it has none, and replays its regular activities and its own patch markers.
        # (Asked later, after a local activity that outlasted its workflow task, a replay would
        # ask before reading the task that holds the marker.)
        self._lean = workflow.patched(LEAN_HISTORY_PATCH)
        procedures = workflow.patched(PROCEDURES_PATCH)
        given_in_start = workflow.patched(CONTEXT_IN_START_PATCH)
        bounded_unreadable = workflow.patched(BOUNDED_UNREADABLE_PATCH)
        procedures_3 = workflow.patched(PROCEDURES_3_PATCH)
        entitled = workflow.patched(ENTITLED_SENDERS_PATCH)
        first_year = plan_start.icpc_date.year - 1
        given = (
            usable_context(context, plan_start.policy, first_year, local_date(workflow.now()).year)
            if given_in_start
            else None
        )
        context = given or await load_context(plan_start.policy, first_year, CALENDAR_YEARS_AHEAD, local=self._lean)
        now = workflow.now()
        calendar = WorkingCalendar(context.non_working_days)
        if carried:
            self.engine = PlanEngine(carried, context.profile, calendar)
        else:
            try:
                self.engine = PlanEngine.begin(
                    plan_start,
                    context.profile,
                    calendar,
                    now,
                    Patches(
                        honest_records=honest,
                        procedures=procedures,
                        bounded_unreadable=bounded_unreadable,
                        procedures_3=procedures_3,
                        entitled_senders=entitled,
                        dates_in_range=dates_in_range,
                    ),
                )
            except m.Refusal as err:
                raise ApplicationError(
                    f"invalid plan start: {err}", type="InvalidPlanStart", non_retryable=True
                ) from None
        # How a change of workflow code ships without breaking running plans: the midnight
        # "overdue" wake-up adds timers, so a history recorded before it would no longer replay.
        # `patched` is true for every new run (and records a marker), false when replaying a
        # history without the marker. Once no running plan predates it, `deprecate_patch`, then
        # remove the branch (README, "Changing workflow code"). A lean run has them all.
        lean = self._lean
        self.engine.patches = Patches(
            overdue_wake=lean or workflow.patched(OVERDUE_WAKE_PATCH),
            end_needs_manager=lean or workflow.patched(END_NEEDS_MANAGER_PATCH),
            strict_input=lean or workflow.patched(STRICT_INPUT_PATCH),
            honest_records=honest,
            procedures=procedures,
            bounded_unreadable=bounded_unreadable,
            procedures_3=procedures_3,
            entitled_senders=entitled,
            dates_in_range=dates_in_range,
        )
        workflow.upsert_memo({"plan_id": plan_start.plan_id, "policy": plan_start.policy})
        engine = self.engine

        while True:
            engine.fire(workflow.now())
            await self._deliver()
            await self._publish()
            if engine.finished:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not engine.state.outbox:
                    self._stop_timer()
                    return engine.status(workflow.now()).as_json()
                continue
            if self._continue_as_new or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if engine.state.outbox:
                    continue  # a handler that just finished left letters to send first
                engine.state.runs += 1
                self._stop_timer()
                # The context is not carried: the next run loads the profile as it stands then.
                workflow.continue_as_new(args=[None, engine.state])
            await self._sleep_until_next()

    async def _publish(self) -> None:
        """Keep the read model (plans, obligations) in step; only when something changed."""
        engine = self.engine
        assert engine is not None
        status = engine.status_json(workflow.now())
        digest = _digest(status)
        if digest == self._published:
            return
        await run_activity(
            SAVE_PLAN,
            PlanSnapshot(plan_id=status["plan_id"], status=status, updated_at=workflow.now()),
            local=self._lean,
            timeout=timedelta(minutes=1),
            summary="save the plan to the read model",
        )
        self._published = digest
        self._index(status)

    def _index(self, status: dict[str, Any]) -> None:
        """Search attributes for the ops view, where the plan was started with them (the
        starter sets them when the server has them registered)."""
        if sa.PLAN_STATE not in workflow.info().typed_search_attributes:
            return
        values = sa.values_from_status(status)
        if values != self._indexed:
            workflow.upsert_search_attributes(sa.updates(values))
            self._indexed = values

    # ------------------------------------------------------------------ messages
    # The handlers of PLAN_MESSAGES (workflows/messages.py) are made by `message_handlers`: each
    # passes its payload to the engine method of the same name.

    def _applied(self, name: str, result: dict[str, Any]) -> None:
        if name == "record_review_conference" and result.get("outcome") == "continue":
            # A review conference is the natural boundary of a run: continue as new.
            self._continue_as_new = True

    @workflow.query
    def status(self) -> dict[str, Any]:
        """The plan's status with its newest history entries (a query is not replayed, so what it
        leaves out changes no history; the read model saves every entry)."""
        if self.engine is None:
            return {"state": "starting", "obligations": [], "escalations": [], "history": [], "next_due": None}
        return newest_history(self.engine.status(workflow.now()).as_json())
