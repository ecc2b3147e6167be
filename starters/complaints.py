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
import json
from collections.abc import Awaitable, Callable

from temporalio.client import Client

from starters import cases, options, render
from workflows.complaint_rules import CloseComplaint

HELP = "complaints about a conference: start, status, and each step of the procedure"
# One step per message of the complaint's registry (workflows/complaint_rules.py), as the client
# projects it: the step's name is the message's command (record-response, close, ...).
STEPS = cases.COMPLAINTS.commands


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
    for name, spec in STEPS.items():
        p = step(name, f"send the {spec.name} update: {spec.help}")
        p.add_argument("complaint_id", metavar="COMPLAINT_ID")
        p.add_argument(
            "--date",
            required=True,
            type=options.day_text,
            metavar=options.DATE_METAVAR,
            help="the day it happened, YYYY-MM-DD (or today)",
        )
        if spec.model is CloseComplaint:
            p.add_argument("--reason-ref", dest="reason_ref", help="reference to the recorded reason for closing")
        options.add_delivery_options(p, "update")


async def cmd_complaint(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    step = args.complaint_command
    if step == "start":
        try:
            with open(args.file, encoding="utf-8") as document:
                doc = json.load(document)
        except OSError as err:
            raise cases.ClientError(f"{args.file}: {err.strerror or err}") from None
        except json.JSONDecodeError as err:
            raise cases.ClientError(f"{args.file}: not valid JSON: {err}") from None
        cases.check_complaint_start(doc)  # refused before connecting
        workflow_id = await cases.start_complaint(await get_client(), doc)
        print(json.dumps({"workflow_id": workflow_id}) if args.json else workflow_id)
        return
    if step == "status":
        status = await cases.query_complaint_status(await get_client(), args.complaint_id)
        if args.json:
            print(json.dumps(status.as_json(), indent=2, default=str))
            return
        rows = [f"  {o.id:<26} {o.due.isoformat()}  {o.status}" for o in status.obligations]
        print(f"complaint {status.complaint_id} ({status.state}, stage {status.stage})", *rows, sep="\n")
        return
    spec = STEPS[step]
    given = {"date": args.date, **({"reason_ref": args.reason_ref} if getattr(args, "reason_ref", None) else {})}
    # Checked before connecting: a bad date never reaches the server.
    payload = cases.check_message(spec.name, given, cases.COMPLAINTS)
    update_id = cases.request_id(args.complaint_id, spec.name, payload, args.request_id, cases.COMPLAINTS)
    result = await cases.send_update(
        await get_client(),
        args.complaint_id,
        spec.name,
        payload,
        request=args.request_id,
        timeout=args.timeout,
        case_kind=cases.COMPLAINTS,
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(render.message_outcome(args.complaint_id, spec.name, "recorded", update_id, result))
