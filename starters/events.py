"""`cpplan events ...`: the events outbox (README, "Events out"), from the read-model database.

    cpplan events list [--plan P] [--state pending|delivered|failed] [--since WHEN] [--limit N] [--json]
    cpplan events redeliver EVENT_ID
    cpplan events redeliver --since WHEN [--failed]
    cpplan events redeliver --failed

`redeliver` sends the chosen events again from now on, under their own `webhook-id`, to every
endpoint that had them and to every endpoint configured where it runs that did not (a receiver
added later catches up with `--since`). WHEN is a date (`YYYY-MM-DD` or `today`: from London's
midnight) or an ISO instant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, date, datetime, time
from typing import Any

from activities import event_outbox
from activities.db import EVENT_DELIVERY_STATES, get_engine
from activities.event_types import TYPE_PREFIX
from activities.webhook_endpoints import endpoint_names
from starters import options, render
from starters.cases import ClientError
from workflows.calendar import LONDON

HELP = "events sent to case systems: list them, or send them again"
WHEN_METAVAR = "YYYY-MM-DD|today|ISO-INSTANT"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="events_command", required=True, metavar="STEP")

    def step(name: str, helptext: str) -> argparse.ArgumentParser:
        p = steps.add_parser(name, help=helptext, description=helptext)
        options.add_common(p, connect=False)
        return p

    p = step("list", "events recorded, oldest first, each with its deliveries")
    p.add_argument("--plan", dest="plan_id", metavar="PLAN_ID", help="one plan's events")
    p.add_argument("--state", choices=EVENT_DELIVERY_STATES, help="events with a delivery in this state")
    p.add_argument("--since", type=options.day_text, metavar=WHEN_METAVAR, help="events recorded since then")
    p.add_argument("--limit", type=int, metavar="N", help="at most N events")
    p = step("redeliver", "send events again (same webhook-id), to every endpoint")
    p.add_argument("event_id", nargs="?", metavar="EVENT_ID", help="one event (its id, evt_...)")
    p.add_argument("--since", type=options.day_text, metavar=WHEN_METAVAR, help="every event recorded since then")
    p.add_argument("--failed", action="store_true", help="only deliveries given up (with --since: those since then)")


def when(text: str | None) -> datetime | None:
    """`--since`: a date is London's midnight starting it; an instant without a zone is UTC."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ClientError(f"--since {text!r}: expected YYYY-MM-DD, today or an ISO instant") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _delivery_cell(d: dict[str, Any]) -> str:
    cell = f"{d['endpoint']}:{d['state']}"
    if d["state"] != "delivered" and d["attempts"]:
        cell += f" ({d['attempts']} tries: {d['last_error']})"
    return cell


def _list(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.limit is not None and args.limit < 1:
        raise ClientError(f"--limit {args.limit}: expected 1 or more")
    return event_outbox.list_events(
        get_engine(), plan_id=args.plan_id, state=args.state, since=when(args.since), limit=args.limit
    )


def _redeliver(args: argparse.Namespace) -> int:
    if args.event_id is None and args.since is None and not args.failed:
        raise ClientError("say which events: EVENT_ID, --since WHEN or --failed")
    if args.event_id is not None and args.since is not None:
        raise ClientError("EVENT_ID or --since, not both")
    engine = get_engine()
    if args.event_id is not None and not event_outbox.list_events(engine, event_id=args.event_id):
        raise ClientError(f"no event {args.event_id!r} (cpplan events list shows their ids)")
    return event_outbox.redeliver(
        engine, event_id=args.event_id, since=when(args.since), failed_only=args.failed, endpoints=endpoint_names()
    )


async def cmd_events(args: argparse.Namespace) -> None:
    if args.events_command == "list":
        found = await asyncio.to_thread(_list, args)
        if args.json:
            print(json.dumps(found, indent=2))
            return
        print(
            render.table(
                ["RECORDED", "EVENT", "TYPE", "PLAN", "DELIVERIES"],
                (
                    [
                        e["recorded_at"][:19],
                        e["event_id"],
                        e["type"].removeprefix(TYPE_PREFIX),
                        e["plan_id"],
                        " ".join(_delivery_cell(d) for d in e["deliveries"]) or "(no endpoint)",
                    ]
                    for e in found
                ),
            )
        )
        return
    count = await asyncio.to_thread(_redeliver, args)
    if args.json:
        print(json.dumps({"deliveries": count}))
    else:
        print(f"{count} deliveries to be sent again" if count else "nothing to send again")
