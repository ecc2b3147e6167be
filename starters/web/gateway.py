"""What the API and the pages ask of Temporal, on behalf of a signed-in person.

One place decides who may do what: a message's `by` is the signed-in person, who must hold the
capacity the registry says the message needs on *that* plan (the status's `entitled`: its lead
social worker or a core-group professional, its managers, its service manager), checked here
and again by the workflow where the message has a `by`; `ops` never writes; a practitioner sees
the plans they lead, a team manager the plans of their team. Failures come out
as `ApiError` with the HTTP status the contract gives them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starters import cases
from starters.web.problems import STATUS_OF_CODE
from worker.identity import ANY_PLAN_ROLES, SERVICE_MANAGER_ROLES, STAFF_ID, Identity
from workflows import models as m
from workflows.policy import PolicyError
from workflows.status import PlanStatus


@dataclass
class ApiError(Exception):
    status: int
    type: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After on a 429 or 503

    def body(self) -> dict[str, Any]:
        # `errors` always there (empty when no field is at fault): clients read one shape.
        return {"type": self.type, "detail": self.detail, "errors": self.errors}


def refused(problems: list[tuple[str, str]]) -> ApiError:
    text = "; ".join(f"{f}: {r}" for f, r in problems)
    return ApiError(422, "Refused", text, [{"field": f, "reason": r} for f, r in problems])


def forbidden(detail: str, problems: list[tuple[str, str]] | None = None) -> ApiError:
    """Not the caller's to do; `problems` name the fields at fault, where there are some."""
    return ApiError(403, "Forbidden", detail, [{"field": f, "reason": r} for f, r in problems or []])


def from_code(code: str, detail: str, problems: list[tuple[str, str]] | None = None) -> ApiError:
    """A refusal from the client layer (starters/cases), its status chosen by its code."""
    status, kind = STATUS_OF_CODE.get(code, STATUS_OF_CODE["unavailable"])
    return ApiError(status, kind, detail, [{"field": f, "reason": r} for f, r in problems or []])


def _rpc(plan_id: str, err: RPCError) -> ApiError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return ApiError(404, "NotFound", f"no plan {plan_id!r}")
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return ApiError(504, "Timeout", "no worker answered in time")
    if err.status == RPCStatusCode.UNAVAILABLE:
        return ApiError(503, "Unavailable", "Temporal cannot be reached")
    return ApiError(503, "Unavailable", f"Temporal: {err.status.name if err.status else 'error'}")


class Gateway:
    def __init__(self, client: Client, deadline_s: float):
        self.client = client
        self.deadline_s = deadline_s

    async def _within_deadline(self, plan_id: str, work: Any) -> Any:
        try:
            async with asyncio.timeout(self.deadline_s):
                return await work
        except TimeoutError:
            raise ApiError(504, "Timeout", f"no worker answered within {self.deadline_s:g} s") from None
        except RPCError as err:
            raise _rpc(plan_id, err) from None

    def answer_for(self, err: cases.ClientError, plan_id: str) -> ApiError:
        """The HTTP answer for a failure the client raised, chosen by its reason code: a
        refusal keeps the workflow's words and fields (`forbidden` when the workflow says the
        sender is not entitled, by its failure type)."""
        problems = err.problems if isinstance(err, cases.Refused) else []
        detail = {
            "no_answer": f"no worker answered within {self.deadline_s:g} s; the update may still be applied "
            "when a worker comes: sending it again with the same Idempotency-Key is safe",
            "not_found": f"no plan {plan_id!r}",
            "unavailable": "Temporal could not take the message",
        }.get(err.code, str(err))
        answer = from_code(err.code, detail, problems)
        if err.code == "busy":
            answer.headers["Retry-After"] = str(cases.Busy.retry_after_s)
        return answer

    # ------------------------------------------------------------------ reading

    async def status(self, who: Identity, plan_id: str) -> PlanStatus:
        """The plan's status query, if `who` may see the plan."""
        if not STAFF_ID.fullmatch(plan_id):  # plan ids are references of the same shape
            raise ApiError(404, "NotFound", "no such plan")
        try:
            status = await cases.query_status(self.client, plan_id, timeout=self.deadline_s)
        except cases.ClientError as err:
            words = {"not_found": f"no plan {plan_id!r}", "no_answer": str(err)}
            raise from_code(err.code, words.get(err.code, "the plan could not be read")) from None
        self.check_can_see(who, status.lead_social_worker, status.team_manager)
        return status

    @staticmethod
    def check_can_see(who: Identity, lead_social_worker: str | None, team_manager: str | None) -> None:
        """A plan is seen by its lead social worker, its team manager and the roles that see
        every plan."""
        if who.has(*ANY_PLAN_ROLES):
            return
        if who.staff_id in (lead_social_worker, team_manager):
            return
        raise forbidden(f"{who.staff_id} is neither the lead social worker nor the team manager of this plan")

    @staticmethod
    def check_entitled(who: Identity, spec: cases.ClientMessage, status: PlanStatus) -> None:
        """The signed-in person holds the capacity the message needs on *this* plan (the
        status's `entitled`); a case system signed in as no person relays a practitioner's
        record. Seeing a plan (a service manager sees every plan) is not being on it."""
        if not who.person and spec.capacity == "practitioner":
            return
        try:
            cases.check_entitled(spec.name, who.staff_id, status)
        except m.NotEntitled as err:
            # Said before anything else is checked: nothing was about to be sent yet.
            problems = [(f, r.removesuffix("; nothing was sent")) for f, r in err.problems]
            raise forbidden("; ".join(f"{f}: {r}" for f, r in problems), problems) from None

    # ------------------------------------------------------------------ starting

    async def start(self, who: Identity, doc: Any) -> tuple[int, dict[str, Any]]:
        """201 started, 200 the same plan was already there, 409 a different one was."""
        if not who.has("case-system"):
            raise forbidden("starting a plan is for a case system")
        try:
            start = cases.check_start(doc)
        except m.Refusal as err:
            raise refused(err.problems) from None
        except PolicyError as err:
            raise refused([("policy", str(err))]) from None
        wanted = start.model_dump(mode="json", exclude_unset=True)
        try:
            # The same content again returns the plan; other content, or a closed plan, is a
            # StartConflict naming the fields that differ (starters/cases).
            workflow_id, created = await self._within_deadline(start.plan_id, cases.start_plan(self.client, wanted))
        except cases.StartConflict as err:
            raise from_code(err.code, str(err), err.problems) from None
        return (201 if created else 200), {"plan_id": start.plan_id, "workflow_id": workflow_id}

    # ------------------------------------------------------------------ messages

    async def send(
        self,
        who: Identity,
        plan_id: str,
        spec: cases.ClientMessage,
        payload: dict[str, Any],
        idempotency_key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        payload = dict(payload)
        if spec.has_by:
            given = payload.pop("by", None)
            if given is not None and given != who.staff_id:
                raise forbidden(
                    f"by: you are signed in as {who.staff_id}; a message cannot be sent for {given}",
                    [("by", "is the signed-in person; a message cannot be sent for someone else")],
                )
            # `by` names a person; a case system relaying a record is not one (the audit trail
            # names it), so an optional `by` stays empty for it.
            if who.person or spec.by_required:
                payload["by"] = who.staff_id
        if not who.writes:
            raise forbidden("ops read plans; they never write to one")
        if spec.manager and not who.manager:
            raise forbidden(f"{spec.command} is a manager's decision")
        if spec.capacity == "service-manager" and not who.has(*SERVICE_MANAGER_ROLES):
            raise forbidden(f"{spec.command} is the plan's service manager's decision")
        status = await self.status(who, plan_id)
        self.check_entitled(who, spec, status)
        if spec.name in cases.CONDITIONAL_MANAGER and not who.manager:
            if cases.conditional_manager(spec, payload, status):
                raise forbidden(f"{spec.command}: this is a manager's decision on this plan")
            # Their word is not a manager's agreement: the workflow refuses what needs one.
            if spec.name == "schedule_meeting" and payload.get("kind") == "review_conference":
                payload.pop("by", None)
            if spec.name == "record_review_conference":
                payload.pop("by", None)
        try:
            payload = cases.check_message(spec.name, payload)
            if spec.kind == "signal":
                # A report the plan could only keep as unreadable is refused here, as the
                # command line refuses it: a date in the future or before the plan, a manager's
                # report by someone not among the plan's managers.
                payload = cases.check_report(spec.name, payload, status)
        except m.Refusal as err:
            # Not entitled on this plan (`m.NotEntitled`, code `forbidden`: 403) is not theirs to
            # send, as the workflow says of an update with such a `by`; any other refusal (a
            # `by` of the wrong shape too) is bad input (422). Decided by the code, not the words.
            raise from_code(err.code, str(err), err.problems) from None
        # The command line's path, so a message behaves the same however it comes: with an
        # Idempotency-Key, a repeat with the same body is applied (or kept) once, another body
        # is another request; without one, the same update again is one record (a form sent
        # twice) and every report is kept.
        request = f"{who.staff_id}:{idempotency_key}" if idempotency_key else None
        try:
            if spec.kind == "signal":
                await cases.send_signal(
                    self.client, plan_id, spec.name, payload, request=request, timeout=self.deadline_s
                )
                return 202, {"accepted": spec.name}
            result = await cases.send_update(
                self.client, plan_id, spec.name, payload, request=request, timeout=self.deadline_s
            )
        except cases.ClientError as err:
            raise self.answer_for(err, plan_id) from None
        return 200, result
