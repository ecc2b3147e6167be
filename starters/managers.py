"""`cpplan overdue` and `cpplan due`: a manager's view of the caseload, from the read model.

One row per obligation (due date, plan, obligation, status, lead social worker, team manager),
earliest due first, filtered by `--team` (the team manager's id), `--worker` (the lead social
worker's id) and `--policy`. `overdue` lists what is past its date with nothing recorded;
`due --within N` what is open and due within N working days of today (each plan's own
working days: its profile's bank holidays and closure days), overdue ones included.

`overdue --json` keeps the shape scripts already read (shared/contract.md): one object per plan,
its overdue obligations under `overdue`; `due --json` is one object per obligation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from typing import Any

from starters import dates, render
from starters.cases import today_in_london

OVERDUE_HELP = "obligations past their date with nothing recorded, earliest first (from the read model)"
DUE_HELP = "open obligations due within N working days, earliest first (from the read model)"


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--team", metavar="TM_ID", help="only plans whose team manager is this id")
    p.add_argument("--worker", metavar="SW_ID", help="only plans whose lead social worker is this id")
    p.add_argument("--policy", metavar="POLICY", help="only plans under this profile, e.g. london")


def add_overdue_arguments(p: argparse.ArgumentParser) -> None:
    _add_filters(p)


# The furthest `due --within` looks: a year of working days (plans are reviewed every six months).
MAX_WITHIN = 260


def working_days(text: str) -> int:
    """`--within`'s value: 0 to MAX_WITHIN working days (a usage error otherwise)."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of working days, got {text!r}") from None
    if not 0 <= days <= MAX_WITHIN:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_WITHIN} working days (a year), not {days}")
    return days


def add_due_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--within",
        type=working_days,
        default=10,
        metavar="N",
        help="working days from today, in each plan's own calendar, 0 to 260 (default 10; 0: due today or overdue)",
    )
    _add_filters(p)


def overdue_rows(plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`overdue_plans`' plans as one row per overdue obligation, earliest first."""
    rows = [
        {
            "plan_id": p["plan_id"],
            "obligation_id": o["obligation_id"],
            "kind": o["kind"],
            "due": o["due"],
            "status": o["status"],
            "member_id": o.get("member_id"),
            "policy": p["policy"],
            "lead_ref": p["lead_ref"],
            "team_ref": p["team_ref"],
        }
        for p in plans
        for o in p["overdue"]
    ]
    return sorted(rows, key=lambda r: (r["due"], r["plan_id"], r["obligation_id"]))


def caseload(command: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """What a command lists (blocking database read): `overdue` its plans, `due` its rows."""
    from activities.read_model import due_within, open_obligations, overdue_plans

    filters = {"team": args.team, "worker": args.worker, "policy": args.policy}
    if command == "overdue":
        return overdue_plans(**filters)
    if args.within < 0:
        from workflows.models import Refusal

        raise Refusal.one("within", "must be 0 or more working days")
    today = today_in_london()
    # Calendar days are an upper bound on working days: read that much, then trim per profile.
    rows = open_obligations(due_by=date.fromordinal(today.toordinal() + 3 * args.within + 21), **filters)
    return due_within(rows, today, args.within)


async def cmd_caseload(args: argparse.Namespace) -> None:
    found = await asyncio.to_thread(caseload, args.command, args)
    if args.json:
        print(json.dumps(found, indent=2))
        return
    rows = overdue_rows(found) if args.command == "overdue" else found
    today = today_in_london()
    print(
        render.table(
            ["DUE", "TODAY", "PLAN", "OBLIGATION", "STATUS", "LEAD SOCIAL WORKER", "TEAM MANAGER", "POLICY"],
            (
                [
                    dates.table_day(r["due"]),
                    dates.due_words(r["due"], today, r["policy"]),
                    r["plan_id"],
                    r["obligation_id"],
                    r["status"],
                    r["lead_ref"],
                    r["team_ref"],
                    r["policy"],
                ]
                for r in rows
            ),
        )
    )
