"""`cpplan complaint ...`: complaints about a conference (darlington, 002 'Child Protection
Conference Complaints'), each its own `ConferenceComplaint` workflow.

    cpplan complaint start FILE.json            a ComplaintStart document; prints the workflow id
    cpplan complaint status COMPLAINT_ID [--json]
    cpplan complaint record-response COMPLAINT_ID --date D
    (escalate-to-scrutineer, record-acknowledgement, record-consideration,
     record-written-response, request-appeal, record-appeal-meeting, record-appeal-outcome
     take --date; close takes --date and --reason-ref)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

import workflows
from starters import options, render
from starters.plans import NoAnswer, PlanCommandError, Refused, UnknownPlan, no_answer_text, request_id
from workflows import models as m
from workflows.complaint_rules import (
    COMPLAINT_WORKFLOW_TYPE,
    CloseComplaint,
    ComplaintStart,
    Dated,
    complaint_workflow_id,
)

HELP = "complaints about a conference: start, status, and each step of the procedure"
UPDATES: dict[str, type[BaseModel]] = {
    "record-response": Dated,
    "escalate-to-scrutineer": Dated,
    "record-acknowledgement": Dated,
    "record-consideration": Dated,
    "record-written-response": Dated,
    "request-appeal": Dated,
    "record-appeal-meeting": Dated,
    "record-appeal-outcome": Dated,
    "close": CloseComplaint,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="complaint_command", required=True, metavar="STEP")

    def step(name: str, helptext: str) -> argparse.ArgumentParser:
        p = steps.add_parser(name, help=helptext, description=helptext)
        options.add_common(p)  # --address etc. after the step too
        return p

    p = step("start", "start a complaint from a ComplaintStart JSON document")
    p.add_argument("file", metavar="FILE.json")
    p = step("status", "the complaint's stage and clocks (--json: the status query's JSON exactly)")
    p.add_argument("complaint_id", metavar="COMPLAINT_ID")
    for name, model in UPDATES.items():
        p = step(name, f"send the {name.replace('-', '_')} update")
        p.add_argument("complaint_id", metavar="COMPLAINT_ID")
        p.add_argument(
            "--date",
            required=True,
            type=options.day_text,
            metavar=options.DATE_METAVAR,
            help="the day it happened, YYYY-MM-DD (or today)",
        )
        if model is CloseComplaint:
            p.add_argument("--reason-ref", dest="reason_ref", help="reference to the recorded reason for closing")
        options.add_delivery_options(p, "update")


def _not_found(complaint_id: str, err: RPCError) -> PlanCommandError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return UnknownPlan(
            f"no complaint {complaint_id!r} ({complaint_workflow_id(complaint_id)} not found or already closed)"
        )
    return PlanCommandError(f"{complaint_workflow_id(complaint_id)}: {err.message}")


async def cmd_complaint(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    """Longer than most functions: one branch per step of the procedure, each a few lines."""
    step = args.complaint_command
    if step == "start":
        try:
            with open(args.file, encoding="utf-8") as document:
                doc = json.load(document)
        except OSError as err:
            raise PlanCommandError(f"{args.file}: {err.strerror or err}") from None
        except json.JSONDecodeError as err:
            raise PlanCommandError(f"{args.file}: not valid JSON: {err}") from None
        start = m.parse(ComplaintStart, doc)
        client = await get_client()
        await client.start_workflow(
            COMPLAINT_WORKFLOW_TYPE,
            start.model_dump(mode="json", exclude_unset=True),
            id=complaint_workflow_id(start.complaint_id),
            task_queue=workflows.task_queue(),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"complaint_id": start.complaint_id, "plan_id": start.plan_id, "policy": start.policy},
        )
        workflow_id = complaint_workflow_id(start.complaint_id)
        print(json.dumps({"workflow_id": workflow_id}) if args.json else workflow_id)
        return
    payload: dict[str, Any] = {}
    if step != "status":
        # Checked before connecting: a bad date never reaches the server.
        payload = {"date": args.date, **({"reason_ref": args.reason_ref} if getattr(args, "reason_ref", None) else {})}
        m.parse(UPDATES[step], payload)
    handle = (await get_client()).get_workflow_handle(complaint_workflow_id(args.complaint_id))
    try:
        if step == "status":
            result: Any = await handle.query("status", result_type=dict)
            if not args.json:
                rows = [f"  {o['id']:<26} {o['due']}  {o['status']}" for o in result["obligations"]]
                print(
                    f"complaint {result.get('complaint_id', args.complaint_id)} ({result['state']}, stage {result['stage']})",
                    *rows,
                    sep="\n",
                )
                return
        else:
            name = step.replace("-", "_")
            update_id = request_id(args.complaint_id, name, payload, args.request_id)
            try:
                result = await asyncio.wait_for(
                    handle.execute_update(name, payload, id=update_id, result_type=dict), timeout=args.timeout
                )
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                raise NoAnswer(no_answer_text(args.timeout, args.request_id)) from None
            if not args.json:
                print(render.message_outcome(args.complaint_id, name, "recorded", update_id, result))
                return
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        raise Refused(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None
    except RPCError as err:
        raise _not_found(args.complaint_id, err) from None
    print(json.dumps(result, indent=2, default=str))
