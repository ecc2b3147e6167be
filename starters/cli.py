"""`cpplan`: the command line of docs/contract.md, "Command line (`cpplan`)".

Exit status 0 on success; otherwise one line on stderr (a refusal naming the fields, an unknown
plan, a server that cannot be reached) and status 1 (2 for a usage error). `status` exits 3 for a
plan whose workflow is not running, and `doctor` 1 when it finds a plan in trouble
(starters/health.py). Commands that need Temporal connect only once their input has been
checked, so a bad document or payload is refused without touching the server. `run(argv, client=...)` lets tests inject a client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from temporalio.client import Client
from temporalio.service import RPCError

from starters import complaints, health, importer, options, plans, render
from starters import report as report_command
from workflows import models as m
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.engine import timetable
from workflows.obligations import hold_by
from workflows.policy import PolicyError, get_profile, load_profiles

# One sub-command per workflow message, named after it with dashes (record_completion's
# payload model is RecordMeeting). change-lead-social-worker always names a lead social worker.
MESSAGE_COMMANDS = {
    name.replace("_", "-"): options.MessageCommand(
        command=name.replace("_", "-"),
        message=name,
        model=model,
        kind=kind,
        fixed={("person", "role"): "lead-social-worker"} if name == "change_lead_social_worker" else {},
    )
    for name, (model, kind) in plans.MESSAGES.items()
}

JSON_HELP = "print JSON (stable for scripts)"
BENCH_HELP = "measure start rate, a reminder storm, wakes, history size, replay time and memory (from a checkout)"
BENCH_MISSING = (
    "the benchmark is not installed here: it ships with the repository, not the product package or the "
    "worker image; run it from a checkout (make install, then cpplan bench or python -m bench)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the contract's 'one-line reason')."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--address",
        default=os.environ.get("TEMPORAL_ADDRESS"),
        help="Temporal frontend host:port (default: $TEMPORAL_ADDRESS, else the client config)",
    )
    common.add_argument(
        "--namespace",
        default=os.environ.get("TEMPORAL_NAMESPACE"),
        help="Temporal namespace (default: $TEMPORAL_NAMESPACE, else the client config)",
    )

    parser = _Parser(prog="cpplan", description="Child protection plans as Temporal workflows.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, helptext: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=helptext, description=helptext)

    add("worker", "run the worker (workflows and activities) until stopped")
    p = add("start", "start a plan from a PlanStart JSON document; prints the workflow id")
    p.add_argument("file", metavar="FILE.json", help="the PlanStart document ('-' reads stdin)")
    p = add("status", "a plan's obligations, escalations and what is due next")
    p.add_argument("plan_id", metavar="PLAN_ID")
    p.add_argument(
        "--json", action="store_true", help="print the status query's JSON, with the workflow's execution_status"
    )
    p = add("doctor", "every plan in trouble: workflow stopped or failing while the read model says active")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p = add("overdue", "plans with overdue obligations (from the read model)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p = add("schedule", "the statutory timetable from the conference date alone (no server needed)")
    p.add_argument("--policy", required=True, help="profile id, e.g. london")
    p.add_argument("--icpc", required=True, metavar="YYYY-MM-DD", help="date of the initial conference")
    p.add_argument(
        "--conference-kind",
        choices=["initial", "transfer-in", "pre-birth"],
        default="initial",
        help="initial (default)",
    )
    p.add_argument("--expected-birth-date", metavar="YYYY-MM-DD", help="pre-birth plans: the expected birth")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p = add("policies", "the available policy profiles")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p = add("policy", "one profile's rules, each with its source")
    p.add_argument("policy", metavar="POLICY")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    importer.add_arguments(add("import", importer.HELP))
    report_command.add_arguments(add("report", report_command.HELP))
    complaints.add_arguments(add("complaint", complaints.HELP))
    p = add("dev", "run a local Temporal server, the worker and a demo plan together")
    p.add_argument("--no-demo", action="store_true", help="do not start the demo plan")
    p.add_argument("--ui-port", type=int, default=8233)
    p.add_argument("--port", type=int, default=7233)
    p.add_argument("--db", default=".data/temporal.db", help="the dev server's SQLite file")
    p.add_argument("--codec-port", type=int, default=8081, help="port of the codec server the UI decrypts with")
    p.add_argument("--web-port", type=int, default=8000, help="port of the web API and pages")

    p = add("serve", "the signed-in web API for case systems and pages for people (starters/web)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    p.add_argument("--web-port", type=int, default=8000)
    p = add("dev-token", "print a bearer token signed with the development key (`cpplan dev` only)")
    p.add_argument("person_id", metavar="PERSON_ID")
    p.add_argument("--role", action="append", required=True, help="a role (repeat for several)")

    p = add("codec-server", "decrypt payloads for the Temporal UI (ops staff present a token)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=8081)

    # Listed here for --help only: `main` hands everything after `bench` to the bench package.
    sub.add_parser("bench", help=BENCH_HELP, description=BENCH_HELP, add_help=False)

    for spec in MESSAGE_COMMANDS.values():
        doc = (spec.model.__dict__.get("__doc__") or "").strip().splitlines()
        p = add(spec.command, f"send the {spec.message} {spec.kind}" + (f" ({doc[0]})" if doc else ""))
        p.add_argument("plan_id", metavar="PLAN_ID")
        options.add_model_options(p, spec)
    return parser


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False, default=str))


# ---------------------------------------------------------------------- commands without a server


def _iso(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise m.Refusal.one(field, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _hold_by(due: date, calendar: WorkingCalendar) -> dict[str, str]:
    """A limit on a non-working day: the working day to hold it by."""
    held = hold_by(due, calendar)
    return {"hold_by": held.isoformat()} if held != due else {}


def cmd_schedule(args: argparse.Namespace) -> None:
    profile = get_profile(args.policy)
    icpc = _iso("icpc", args.icpc)
    calendar = WorkingCalendar(non_working_days(profile.region, icpc.year - 1, icpc.year + 2, profile.closure_days))
    birth = _iso("expected_birth_date", args.expected_birth_date) if args.expected_birth_date else None
    if args.conference_kind == "pre-birth" and birth is None:
        raise m.Refusal.one("expected_birth_date", "required for a pre-birth plan")
    # timetable() reads only the conference (date, kind, expected birth) and a visit interval the
    # conference may set.
    start = m.PlanStart.model_construct(
        icpc_date=icpc,
        conference_kind=args.conference_kind,
        expected_birth_date=birth,
        visit_interval_working_days=None,
    )
    rows = [
        {"kind": kind, "due": due.isoformat(), **_hold_by(due, calendar), "rule": rule}
        for kind, due, rule in timetable(start, profile, calendar)
    ]
    if args.json:
        extra = {"conference_kind": args.conference_kind}
        if birth:
            extra["expected_birth_date"] = birth.isoformat()
        _print_json({"policy": profile.id, "icpc_date": icpc.isoformat(), **extra, "obligations": rows})
    else:
        print(render.schedule(profile.id, icpc.isoformat(), rows))


def cmd_policies(args: argparse.Namespace) -> None:
    profiles = sorted(load_profiles().values(), key=lambda p: p.id)
    if args.json:
        _print_json([{"id": p.id, "name": p.name, "region": p.region} for p in profiles])
    else:
        print(render.policies(profiles))


def cmd_policy(args: argparse.Namespace) -> None:
    profile = get_profile(args.policy)
    if args.json:
        _print_json(profile.model_dump(mode="json"))
    else:
        print(render.policy(profile))


async def cmd_overdue(args: argparse.Namespace) -> None:
    from activities.read_model import overdue_plans

    found = await asyncio.to_thread(overdue_plans)  # blocking database read
    if args.json:
        _print_json(found)
    else:
        print(render.overdue(found))


# ---------------------------------------------------------------------- commands with a server


def _read_document(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as err:
        raise plans.PlanCommandError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise plans.PlanCommandError(f"{path}: not valid JSON: {err}") from None


async def cmd_start(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    doc = _read_document(args.file)
    plans.check_start(doc)  # refuse before connecting
    client = await get_client()
    workflow_id, created = await plans.start_plan(client, doc)
    print(workflow_id)
    if not created:
        print(f"{workflow_id}: already running with the same content; nothing new started", file=sys.stderr)


async def cmd_message(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    spec = MESSAGE_COMMANDS[args.command]
    payload = options.payload_from(spec, args)
    plans.check_message(spec.message, payload)  # refuse before connecting
    client = await get_client()
    if spec.kind == "update":
        _print_json(await plans.send_update(client, args.plan_id, spec.message, payload))
    else:
        await plans.send_signal(client, args.plan_id, spec.message, payload)
        print("sent")


# ---------------------------------------------------------------------- dispatch


async def _connect(args: argparse.Namespace) -> Client:
    from worker.client import connect

    try:
        return await connect(args.address, args.namespace)
    except Exception as err:  # the SDK raises RuntimeError for most connection failures
        where = args.address or os.environ.get("TEMPORAL_ADDRESS") or "the configured address"
        raise plans.PlanCommandError(f"cannot reach Temporal at {where}: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return " ".join(text.split())  # one line, whatever the SDK put in it


async def run_command(args: argparse.Namespace, client: Client | None = None) -> int | None:
    """Run a parsed command; raises on failure. `client` is used instead of connecting. Returns
    the exit status when the command has one of its own (`import`), else None (0)."""

    async def get_client() -> Client:
        nonlocal client
        if client is None:
            client = await _connect(args)
        return client

    if args.command == "schedule":
        cmd_schedule(args)
    elif args.command == "policies":
        cmd_policies(args)
    elif args.command == "policy":
        cmd_policy(args)
    elif args.command == "overdue":
        await cmd_overdue(args)
    elif args.command == "report":
        await report_command.cmd_report(args)
    elif args.command == "import":
        return await importer.cmd_import(args, get_client)
    elif args.command == "complaint":
        await complaints.cmd_complaint(args, get_client)
    elif args.command == "start":
        await cmd_start(args, get_client)
    elif args.command == "status":
        return await health.cmd_status(args, get_client)
    elif args.command == "doctor":
        return await health.cmd_doctor(args, get_client)
    elif args.command in MESSAGE_COMMANDS:
        await cmd_message(args, get_client)
    elif args.command == "worker":
        from worker.main import run_worker

        await run_worker(args.address, args.namespace)
    else:
        raise plans.PlanCommandError(f"unknown command {args.command!r}")


def _reason(err: BaseException) -> str | None:
    """The one-line reason for an expected failure; None for a bug (keep its traceback)."""
    if isinstance(err, m.Refusal):
        return f"refused: {err}"
    if isinstance(err, plans.Refused):
        return f"refused: {err}"
    if isinstance(err, (plans.PlanCommandError, PolicyError)):
        return str(err)
    if isinstance(err, RPCError):
        return f"Temporal: {err.status.name if err.status else 'error'}: {err.message}"
    if isinstance(err, RuntimeError) and str(err).startswith("Failed client connect"):
        return f"cannot reach Temporal: {err}"  # the worker connects by itself
    if type(err).__name__ == "NoEncryptionKey":
        return str(err)
    if isinstance(err, ModuleNotFoundError):
        return f"not installed: {err.name}"
    return None


def _fail(args: argparse.Namespace | None, err: BaseException) -> int:
    reason = _reason(err)
    if reason is None:
        raise err
    prog = f"cpplan {args.command}" if args is not None else "cpplan"
    print(f"{prog}: {_first_line(Exception(reason))}", file=sys.stderr)
    return 1


async def run(argv: list[str] | None = None, client: Client | None = None) -> int:
    """Parse and run in the current event loop; returns the exit status."""
    if argv and argv[0] == "bench":
        raise plans.PlanCommandError("`cpplan bench` runs its own event loop: call main()")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as err:  # usage error or --help: argparse has already printed
        return err.code if isinstance(err.code, int) else 1
    if args.command == "dev":
        raise plans.PlanCommandError("`cpplan dev` runs its own event loop: call main()")
    try:
        status = await run_command(args, client)
    except Exception as err:
        return _fail(args, err)
    return status or 0


# Commands that create a Temporal client (and with it the SDK's Rust threads).
_TEMPORAL_COMMANDS = {"worker", "serve", "start", "status", "doctor", "import", "complaint", "bench", *MESSAGE_COMMANDS}


def _exit_now(code: int) -> NoReturn:
    """Leave without interpreter teardown: the Temporal client's Rust threads can crash it
    ("Fatal Python error: PyGILState_Release", temporalio/sdk-python#300), which would turn a
    clean exit or a one-line error into an abort and a dump on stderr."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command == "codec-server":
            from worker.codec_server import serve

            serve(args.host, args.port)
            return 0
        if args.command in ("serve", "dev-token"):
            from starters.web.commands import run_web_command

            return run_web_command(args)
        if args.command == "dev":
            import starters.dev as dev

            result = (getattr(dev, "run", None) or dev.main_dev)(args)
            return result if isinstance(result, int) else 0
        status = asyncio.run(run_command(args))
    except KeyboardInterrupt:
        if args.command == "import":
            return 130  # interrupted, not finished: the import has said how to resume
        return 0  # Ctrl-C is how a worker (or dev) is stopped
    except Exception as err:
        return _fail(args, err)
    return status or 0


def run_bench(argv: list[str]) -> int:
    """`cpplan bench ARGS`: the bench package's own command line, imported only now (the
    product does not depend on it, and the worker image does not ship it)."""
    try:
        from bench.cli import main as bench_main
    except ModuleNotFoundError as err:
        if err.name != "bench" and not (err.name or "").startswith("bench."):
            raise
        print(f"cpplan bench: {BENCH_MISSING}", file=sys.stderr)
        return 1
    return bench_main(argv, prog="cpplan bench")


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["bench"]:
        code = run_bench(given[1:])
        if argv is None:
            _exit_now(code)
        return code
    args = build_parser().parse_args(argv)
    code = _main(args)
    if argv is None and args.command in _TEMPORAL_COMMANDS:
        _exit_now(code)  # only when the process is ours (the console script), never in-process
    return code


if __name__ == "__main__":
    sys.exit(main())
