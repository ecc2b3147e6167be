"""`cpplan`: the command line of docs/contract.md, "Command line (`cpplan`)".

Exit status 0 on success; otherwise one line on stderr (a refusal naming the fields, an unknown
plan, a server that cannot be reached) and status 1, 2 for a usage error, 3 when no worker
answered in time or, for `status`, the plan's workflow is not running (`EXIT_STATUS_HELP`, and
the README's "Exit status"); `doctor` exits 1 when it finds a plan in trouble (starters/health.py). Commands that need
Temporal connect only once their input has been checked, so a bad document or payload is
refused without touching the server. `run(argv, client=...)` lets tests inject a client.
`--address`, `--namespace` and `--json` may come before or after the sub-command
(`options.add_common`).
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

from activities.plan_health import WAITING_TOO_LONG
from activities.webhook_endpoints import WebhookSettingError
from starters import cases, complaints, database, dates, events, health, importer, managers, options, render
from starters import report as report_command
from workflows import models as m
from workflows.calendar import WorkingCalendar, profile_calendar
from workflows.engine import timetable
from workflows.obligations import hold_by
from workflows.policy import PolicyError, get_profile, load_profiles

# One sub-command per workflow message, named after it with dashes (record_completion's
# payload model is RecordMeeting), from the client's one projection of the registry.
MESSAGE_COMMANDS = {command: options.MessageCommand(spec) for command, spec in cases.PLANS.commands.items()}

JSON_HELP = "print JSON (stable for scripts)"
BENCH_HELP = "measure start rate, a reminder storm, wakes, history size, replay time and memory (from a checkout)"
BENCH_MISSING = (
    "the benchmark is not installed here: it ships with the repository, not the product package or the "
    "worker image; run it from a checkout (make install, then cpplan bench or python -m bench)"
)
# The exit statuses, as the README documents them.
EXIT_OK, EXIT_FAILED, EXIT_NO_ANSWER, EXIT_INTERRUPTED = 0, 1, 3, 130  # 2: argparse's usage error
EXIT_FORBIDDEN, EXIT_CONFLICT, EXIT_NOT_FOUND = 4, 5, 6
# A failure's exit status, from its reason code (starters/cases/errors.py), never its words.
EXIT_OF_REASON: dict[cases.Reason, int] = {
    "refused": EXIT_FAILED,
    "unavailable": EXIT_FAILED,
    "no_answer": EXIT_NO_ANSWER,
    "busy": EXIT_NO_ANSWER,
    "forbidden": EXIT_FORBIDDEN,
    "conflict": EXIT_CONFLICT,
    "not_found": EXIT_NOT_FOUND,
}
EXIT_STATUS_HELP = """\
exit status: 0 done; 1 refused or failed (one line on stderr says why); 2 usage error (and for
`import`: some rows were bad, the rest imported); 3 no worker answered an update in time (it may
still be applied when a worker comes: retrying with the same --request-id is safe), or the plan
was taking too many updates at once (nothing applied: send it again), or for `status` the plan's
workflow is not running; 4 not entitled to send that on this plan; 5 a start that conflicts with
a plan already there or ended; 6 no such plan; `doctor`: 1 when it finds a plan in trouble or an
event given up; 130 interrupted.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the contract's 'one-line reason')."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# Commands that print nothing worth a --json (they run until stopped).
_NO_JSON = {"worker", "dev", "codec-server", "serve", "dev-token", "db"}
_NO_CONNECTION = {
    "dev",
    "codec-server",
    "dev-token",
    "schedule",
    "policies",
    "policy",
    "overdue",
    "due",
    "report",
    "db",
    "history",
    "events",
}


def build_parser() -> argparse.ArgumentParser:
    """Longer than most functions: one call per sub-command and option, read as a list."""
    parser = _Parser(
        prog="cpplan",
        description="Child protection plans as Temporal workflows.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_common(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, helptext: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=helptext, description=helptext, **kwargs)
        options.add_common(p, connect=name not in _NO_CONNECTION, json_output=name not in _NO_JSON)
        return p

    p = add("worker", "run the worker (workflows and activities) until stopped")
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on the same task queue, one per core, supervised (default 1)",
    )
    p = add("start", "start a plan from a PlanStart JSON document; prints the plan id and what falls due next")
    p.add_argument("file", metavar="FILE.json", help="the PlanStart document ('-' reads stdin)")
    p.add_argument(
        "--plan-id",
        type=options.plan_ref,
        metavar="PLAN_ID",
        help="start the document under this plan id instead of its own (to run an example again)",
    )
    p = add("status", "a plan's key facts and its obligations in due-date order (--json: the status query exactly)")
    p.add_argument(
        "plan_id", metavar="PLAN_ID", type=options.plan_ref, help="the plan id (or its cp-plan- workflow id)"
    )
    p = add("history", "a plan's whole history from the read model, a page at a time, oldest first")
    p.add_argument(
        "plan_id", metavar="PLAN_ID", type=options.plan_ref, help="the plan id (or its cp-plan- workflow id)"
    )
    p.add_argument("--page", type=_page_number, default=1, metavar="N", help="which page (default 1)")
    p = add(
        "doctor",
        "every plan in trouble: workflow stopped or failing while the read model says active, or "
        "waiting with no worker polling its task queue; and events not delivered",
    )
    p.add_argument(
        "--waited",
        type=float,
        default=WAITING_TOO_LONG.total_seconds(),
        metavar="SECONDS",
        help="list a plan whose workflow task has waited this long on a task queue no worker polls (default 120)",
    )
    managers.add_overdue_arguments(add("overdue", managers.OVERDUE_HELP))
    managers.add_due_arguments(add("due", managers.DUE_HELP))
    p = add("schedule", "the statutory timetable from the conference date alone (no server needed)")
    p.add_argument("--policy", required=True, help="profile id, e.g. london")
    p.add_argument(
        "--icpc",
        required=True,
        type=options.day_text,
        metavar=options.DATE_METAVAR,
        help="date of the initial conference",
    )
    p.add_argument(
        "--conference-kind",
        choices=["initial", "transfer-in", "pre-birth"],
        default="initial",
        help="initial (default)",
    )
    p.add_argument(
        "--expected-birth-date",
        type=options.day_text,
        metavar=options.DATE_METAVAR,
        help="pre-birth plans: the expected birth",
    )
    add("policies", "the available policy profiles")
    p = add("policy", "one profile's rules, each with its source")
    p.add_argument("policy", metavar="POLICY")
    importer.add_arguments(add("import", importer.HELP))
    report_command.add_arguments(add("report", report_command.HELP))
    complaints.add_arguments(add("complaint", complaints.HELP))
    database.add_arguments(add("db", database.HELP))
    add(
        "watchdog-schedule",
        "create or update the watchdog's Temporal Schedule, then exit (what each worker does at start)",
    )
    events.add_arguments(add("events", events.HELP))
    p = add("dev", "run a local Temporal server (with its web UI), the worker and a demo plan together")
    p.add_argument("--no-demo", action="store_true", help="do not start the demo plan")
    p.add_argument(
        "--port",
        type=int,
        default=7233,
        help="port of the Temporal server's frontend, which the worker and `cpplan --address localhost:PORT` use "
        "(default 7233)",
    )
    p.add_argument("--ui-port", type=int, default=8233, help="port of the Temporal web UI (default 8233)")
    p.add_argument("--db", default=".data/temporal.db", help="the dev server's SQLite file")
    p.add_argument("--codec-port", type=int, default=8081, help="port of the codec server the UI decrypts with")
    p.add_argument("--web-port", type=int, default=8000, help="port of the web API and pages")
    p.add_argument(
        "--notify-port",
        type=int,
        default=8090,
        help="port of the local stand-in for GOV.UK Notify, started when CPPLAN_NOTIFY_API_KEY is not set",
    )

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

    add_message_commands(add)
    return parser


def add_message_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """One sub-command per workflow message, from one table (`MESSAGE_COMMANDS`)."""
    for spec in MESSAGE_COMMANDS.values():
        doc = " ".join((spec.model.__dict__.get("__doc__") or "").split())
        helptext = f"send the {spec.message} {spec.kind}" + (f": {doc}" if doc else "")
        p = add(spec.command, helptext)
        p.add_argument(
            "plan_id", metavar="PLAN_ID", type=options.plan_ref, help="the plan id (or its cp-plan- workflow id)"
        )
        options.add_model_options(p, spec)
        options.add_delivery_options(p, spec.kind)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    return options.settle_common(args, from_environment=args.command != "bench")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=False, default=str))


# ---------------------------------------------------------------------- commands without a server


def _iso(field: str, text: str) -> date:
    return m.iso_day(field, text)


def _hold_by(due: date, calendar: WorkingCalendar) -> dict[str, str]:
    """A limit on a non-working day: the working day to hold it by."""
    held = hold_by(due, calendar)
    return {"hold_by": held.isoformat()} if held != due else {}


def cmd_schedule(args: argparse.Namespace) -> None:
    profile = get_profile(args.policy)
    icpc = _iso("icpc", args.icpc)
    calendar = profile_calendar(profile, icpc.year - 1, icpc.year + 2)
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


def _page_number(text: str) -> int:
    try:
        page = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a page number, got {text!r}") from None
    if page < 1:
        raise argparse.ArgumentTypeError(f"pages are numbered from 1, not {page}")
    return page


async def cmd_history(args: argparse.Namespace) -> None:
    """The whole history the read model keeps (the status gives only the newest entries)."""
    from activities.read_model import HISTORY_PAGE, history_page

    after = (args.page - 1) * HISTORY_PAGE - 1
    entries, total = await asyncio.to_thread(history_page, args.plan_id, after=after, limit=HISTORY_PAGE)
    if total == 0:
        raise cases.ClientError(f"no history for plan {args.plan_id!r} in the read model")
    pages = -(-total // HISTORY_PAGE)
    if args.json:
        _print_json({"plan_id": args.plan_id, "page": args.page, "pages": pages, "total": total, "entries": entries})
    else:
        print(render.history(args.plan_id, args.page, pages, total, entries))


def cmd_policies(args: argparse.Namespace) -> None:
    profiles = sorted(load_profiles().values(), key=lambda p: p.id)
    if args.json:
        _print_json([{"id": p.id, "name": p.name, "region": p.region} for p in profiles])
    else:
        print(render.policies(profiles))


def cmd_policy(args: argparse.Namespace) -> None:
    profile = get_profile(args.policy)
    if args.json:
        # Each rule with whose act meets it (`met_by`), and what each clock moves with.
        _print_json({**profile.model_dump(mode="json"), "moves_with": profile.moves_with()})
    else:
        print(render.policy(profile))


# ---------------------------------------------------------------------- commands with a server


def _read_document(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as err:
        raise cases.ClientError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise cases.ClientError(f"{path}: not valid JSON: {err}") from None
    except RecursionError:
        raise cases.ClientError(f"{path}: not a plan start: its JSON nests too deeply") from None


async def cmd_start(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    doc = _read_document(args.file)
    if args.plan_id and isinstance(doc, dict):
        doc = {**doc, "plan_id": args.plan_id}
    start = cases.check_start(doc)  # refuse before connecting
    client = await get_client()
    workflow_id, created = await cases.start_plan(client, doc)
    if args.json:
        _print_json({"workflow_id": workflow_id, "created": created})
    else:
        print(start.plan_id)
        print(f"  {'started' if created else 'already running'} (workflow {workflow_id})")
        print(f"  next due  {await _next_due(client, start)}")
        print(f"  see it    cpplan status {start.plan_id}")
    if not created:
        print(f"{workflow_id}: already running with the same content; nothing new started", file=sys.stderr)


# How long `start` waits for the new plan to answer what falls due first.
START_QUERY_TIMEOUT = 10.0


async def _next_due(client: Client, start: m.PlanStart) -> str:
    """What the plan says falls due first, in words; if no worker answers, said so."""
    try:
        status = await cases.query_status(client, start.plan_id, timeout=START_QUERY_TIMEOUT)
    except (cases.NoAnswer, cases.ClientError):
        return "not known yet: no worker answered (is `cpplan worker` running?)"
    nxt = status.next_due
    if nxt is None:
        return "nothing"
    today = cases.today_in_london()
    what = (nxt.description or nxt.kind).removesuffix(f" due {nxt.due.isoformat()}")
    return f"{what}: {dates.table_day(nxt.due)}, {dates.due_words(nxt.due, today, start.policy)}"


async def cmd_message(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> None:
    spec = MESSAGE_COMMANDS[args.command]
    payload = cases.check_message(spec.message, options.payload_from(spec, args))  # refuse before connecting
    client = await get_client()
    if spec.kind == "update":
        request = cases.request_id(args.plan_id, spec.message, payload, args.request_id)
        result = await cases.send_update(
            client, args.plan_id, spec.message, payload, request=args.request_id, timeout=args.timeout
        )
    else:
        # The workflow cannot refuse a report: it is checked against the plan first, as the HTTP
        # API checks it.
        try:
            status = await cases.query_status(client, args.plan_id, timeout=args.timeout)
        except cases.NoAnswer as err:
            raise cases.NoAnswer(f"{err}; the report was not sent") from None
        payload = cases.check_report(spec.message, payload, status)
        request = await cases.send_signal(
            client, args.plan_id, spec.message, payload, request=args.request_id, timeout=args.timeout
        )
        result = {}
    outcome = "recorded" if spec.kind == "update" else "sent"
    if args.json:
        _print_json(
            {"plan_id": args.plan_id, "message": spec.message, "outcome": outcome, "request_id": request, **result}
        )
    else:
        print(render.message_outcome(args.plan_id, spec.message, outcome, request, result))


# ---------------------------------------------------------------------- dispatch


async def _connect(args: argparse.Namespace) -> Client:
    from worker.client import connect

    try:
        return await connect(args.address, args.namespace)
    except Exception as err:  # the SDK raises RuntimeError for most connection failures
        where = args.address or os.environ.get("TEMPORAL_ADDRESS") or "the configured address"
        raise cases.ClientError(f"cannot reach Temporal at {where}: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    """One line, whatever the SDK put in it, and nothing a terminal obeys: a plan id or address
    typed with control characters (an escape sequence that recolours or retitles the terminal)
    is echoed back written out (`\\x1b`), as Python writes it."""
    text = " ".join((str(err).strip() or type(err).__name__).split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


async def _worker(args: argparse.Namespace) -> None:
    """One worker in this process, or `--processes N` supervised worker processes."""
    if args.processes < 1:
        raise cases.ClientError(f"--processes {args.processes}: expected 1 or more")
    if args.processes == 1:
        from worker.main import run_worker

        await run_worker(args.address, args.namespace)
        return
    from worker.logging import configure_logging
    from worker.supervisor import SupervisorError, supervise

    configure_logging()
    try:
        await supervise(args.processes, args.address, args.namespace)
    except SupervisorError as err:
        raise cases.ClientError(str(err)) from None


async def _watchdog_schedule(client: Client) -> None:
    import workflows
    from worker.logging import configure_logging
    from worker.watchdog_schedule import ensure_watchdog_schedule, watchdog_every

    configure_logging()  # its log line on stderr; the schedule's id alone on stdout
    if watchdog_every() is None:
        print("CPPLAN_WATCHDOG_EVERY is 0: no watchdog schedule")
        return
    ident = await ensure_watchdog_schedule(client, workflows.task_queue())
    if ident is None:
        raise cases.ClientError("the watchdog schedule could not be set up (the worker's log line says why)")
    print(ident)


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
    elif args.command == "history":
        await cmd_history(args)
    elif args.command in ("overdue", "due"):
        await managers.cmd_caseload(args)
    elif args.command == "report":
        await report_command.cmd_report(args)
    elif args.command == "import":
        return await importer.cmd_import(args, get_client)
    elif args.command == "complaint":
        await complaints.cmd_complaint(args, get_client)
    elif args.command == "events":
        await events.cmd_events(args)
    elif args.command == "start":
        await cmd_start(args, get_client)
    elif args.command == "status":
        return await health.cmd_status(args, get_client)
    elif args.command == "doctor":
        return await health.cmd_doctor(args, get_client)
    elif args.command in MESSAGE_COMMANDS:
        await cmd_message(args, get_client)
    elif args.command == "worker":
        await _worker(args)
    elif args.command == "db":
        return database.cmd_db(args)
    elif args.command == "watchdog-schedule":
        await _watchdog_schedule(await get_client())
    else:
        raise cases.ClientError(f"unknown command {args.command!r}")
    return None


def _reason(err: BaseException) -> str | None:
    """The one-line reason for an expected failure; None for a bug (keep its traceback)."""
    if isinstance(err, (m.Refusal, cases.Refused)):
        return f"refused: {err}"
    if isinstance(err, (m.Refusal, cases.ClientError, PolicyError, WebhookSettingError)):
        return str(err)
    if isinstance(err, RPCError):
        return f"Temporal: {err.status.name if err.status else 'error'}: {err.message}"
    if isinstance(err, RuntimeError) and str(err).startswith("Failed client connect"):
        return f"cannot reach Temporal: {err}"  # the worker connects by itself
    if type(err).__name__ == "NoEncryptionKey":
        return str(err)
    if type(err).__name__ in ("SchemaBehind", "DatabaseUnreachable"):
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
    return EXIT_OF_REASON[cases.reason_of(err) or "unavailable"]


async def run(argv: list[str] | None = None, client: Client | None = None) -> int:
    """Parse and run in the current event loop; returns the exit status."""
    if argv and argv[0] == "bench":
        raise cases.ClientError("`cpplan bench` runs its own event loop: call main()")
    try:
        args = parse_args(argv)
    except SystemExit as err:  # usage error or --help: argparse has already printed
        return err.code if isinstance(err.code, int) else 1
    if args.command == "dev":
        raise cases.ClientError("`cpplan dev` runs its own event loop: call main()")
    try:
        status = await run_command(args, client)
    except Exception as err:
        return _fail(args, err)
    return status or 0


# Commands that create a Temporal client (and with it the SDK's Rust threads).
_TEMPORAL_COMMANDS = {
    "worker",
    "dev",
    "serve",
    "start",
    "status",
    "doctor",
    "import",
    "complaint",
    "bench",
    "watchdog-schedule",
    *MESSAGE_COMMANDS,
}


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

            return dev.run(args)
        status = asyncio.run(run_command(args))
    except KeyboardInterrupt:
        if args.command == "import":
            return EXIT_INTERRUPTED  # interrupted, not finished: the import has said how to resume
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


def _reader_gone() -> int:
    """The reader closed the pipe (`cpplan overdue --json | head -1`): it has what it wanted.
    Point stdout at /dev/null so the interpreter's last flush does not complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["bench"]:
        code = run_bench(given[1:])
        if argv is None:
            _exit_now(code)
        return code
    args = parse_args(argv)
    try:
        code = _main(args)
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    if argv is None and args.command in _TEMPORAL_COMMANDS:
        _exit_now(code)  # only when the process is ours (the console script), never in-process
    return code


if __name__ == "__main__":
    sys.exit(main())
