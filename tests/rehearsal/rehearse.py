"""The production rehearsal (scripts/rehearse-production.sh starts PostgreSQL, then runs this).

The product as deploy/ runs it, every part a separate process started with `cpplan`, as in
production (`CPPLAN_ENV=production`, payloads encrypted, tokens from an issuer's JWKS over HTTP):

- the Temporal dev server standing in for the cluster; PostgreSQL for the read model
  (`CPPLAN_REHEARSAL_DATABASE_URL`); a local OpenID Connect issuer (tests/rehearsal/oidc_issuer.py);
- the migration job (`cpplan db upgrade`; a worker started before it refuses to run), the
  watchdog schedule's job (`cpplan watchdog-schedule`);
- two `cpplan worker` processes, two `cpplan serve` instances on the one database, and
  `cpplan codec-server` demanding a token.

Through it: a case system starts a plan over HTTP and reports an incident; the lead social
worker records a visit while one worker process is killed (SIGKILL) mid-way; the team manager
authorises an early review through the other front door. Then every record is there once (the
plan's history, the read model, the outbox, the audit trail), development tokens are refused,
the codec server opens payloads for ops only, and every /healthz and /readyz answers.

Exit status 0 when every check passed; 1 with the failed check (and the processes' last log
lines) otherwise. Everything it starts is stopped, and its temporary directory removed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from tests.rehearsal.oidc_issuer import Issuer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CPPLAN = str(BIN / "cpplan")
DEMO_PLAN = ROOT / "starters" / "demo_plan.json"
CASE_SYSTEM = ("case-sys-1", "case-system")
WORKER = ("sw-demo", "social-worker")
MANAGER = ("tm-demo", "team-manager")
OPS = ("ops-1", "ops")
STARTUP_TIMEOUT_S = 90
# Put into the database URL (the throwaway server trusts every local connection and ignores it),
# to show that no log line or output of any process carries it.
DB_PASSWORD = "rehearsal-db-secret"


class RehearsalFailed(Exception):
    pass


PASSED = [0]  # checks passed so far, for the closing line


def check(condition: object, what: str) -> None:
    if not condition:
        raise RehearsalFailed(what)
    PASSED[0] += 1
    print(f"  ok: {what}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Processes:
    work: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.work / f"{name}.log", "wb")  # noqa: SIM115 (kept open for the process's life)
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.running[name] = process
        return process

    def stop_all(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def tails(self, lines: int = 15) -> str:
        out = []
        for name in self.running:
            text = (self.work / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


async def eventually(probe: Callable[[], Awaitable[bool]], what: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await probe():
                return
        except (httpx.TransportError, OSError):
            pass
        await asyncio.sleep(0.3)
    raise RehearsalFailed(f"timed out waiting for {what}")


async def ready(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(f"{url}/readyz")).status_code == 200


class Rehearsal:
    def __init__(self, database_url: str, work: Path) -> None:
        self.database_url = sa.make_url(database_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
        self.work = work
        self.procs = Processes(work)
        self.ports = {name: free_port() for name in ("temporal", "ui", "issuer", "web_a", "web_b", "codec")}
        self.ports |= {"worker_a": free_port(), "worker_b": free_port()}
        self.issuer = Issuer(self.ports["issuer"])
        self.codec_token = secrets.token_urlsafe(24)
        self.plan_id = f"rehearsal-{uuid.uuid4().hex[:8]}"
        self.requests: list[tuple[str, str]] = []  # (who, action) of every request to the front doors
        self.queue = f"rehearsal-{uuid.uuid4().hex[:6]}"
        self.codec_keys = f"k1:{base64.b64encode(os.urandom(32)).decode()}"

    # ------------------------------------------------------------------ the processes

    def env(self, **extra: str) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
        base = {k: v for k, v in os.environ.items() if k in keep}
        base.update(
            CPPLAN_ENV="production",
            TEMPORAL_ADDRESS=f"127.0.0.1:{self.ports['temporal']}",
            TEMPORAL_NAMESPACE="default",
            CPPLAN_TASK_QUEUE=self.queue,
            CPPLAN_DATABASE_URL=self.database_url,
            CPPLAN_CODEC_KEYS=self.codec_keys,
            CPPLAN_CODEC_KEY_FILE=str(self.work / "no-key-file.json"),  # never the checkout's .data
            CPPLAN_OIDC_ISSUER=self.issuer.url,
            CPPLAN_OIDC_JWKS_URL=self.issuer.jwks_url,
            CPPLAN_OIDC_AUDIENCE="cpplan",
        )
        base.update(extra)
        return base

    async def start(self) -> None:
        self.issuer.start()
        print(f"issuer {self.issuer.url}; Temporal 127.0.0.1:{self.ports['temporal']}", flush=True)
        temporal = str(BIN / "temporal")
        self.procs.start(
            "temporal",
            [temporal, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.ports["temporal"])]
            + ["--ui-port", str(self.ports["ui"]), "--headless", "--db-filename", str(self.work / "temporal.db")]
            + ["--log-level", "error", "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"]
            + ["--dynamic-config-value", "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true"],
            self.env(),
        )
        client = await self.client()
        from worker.search_attributes import ensure_search_attributes

        await ensure_search_attributes(client)  # as deploy/scripts/temporal-namespace.sh does

    async def client(self) -> Any:
        from temporalio.client import Client

        from worker.client import data_converter

        os.environ["CPPLAN_CODEC_KEYS"] = self.codec_keys
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                return await Client.connect(f"127.0.0.1:{self.ports['temporal']}", data_converter=data_converter())
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        env = self.env(
            CPPLAN_WORKER_HEALTH_PORT=str(self.ports[name]),
            CPPLAN_WORKER_HEALTH_HOST="127.0.0.1",
            CPPLAN_WATCHDOG_EVERY="0",  # the schedule is the watchdog job's (below)
            CPPLAN_STICKY_TIMEOUT="3",  # a killed worker's plans move on quickly
        )
        return self.procs.start(name, [CPPLAN, "worker"], env)

    def start_serve(self, name: str) -> None:
        env = self.env(CPPLAN_WEB_SESSION_SECRET=secrets.token_urlsafe(32), CPPLAN_WEB_DEADLINE="45")
        self.procs.start(name, [CPPLAN, "serve", "--host", "127.0.0.1", "--web-port", str(self.ports[name])], env)

    def start_codec(self) -> None:
        env = self.env(CPPLAN_CODEC_TOKEN=self.codec_token, CPPLAN_UI_ORIGIN=f"http://127.0.0.1:{self.ports['ui']}")
        self.procs.start(
            "codec", [CPPLAN, "codec-server", "--host", "127.0.0.1", "--port", str(self.ports["codec"])], env
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def auth(self, who: tuple[str, str], action: str | None = None, **headers: str) -> dict[str, str]:
        if action is not None:
            self.requests.append((who[0], action))
        return {"Authorization": f"Bearer {self.issuer.token(*who)}", **headers}

    # ------------------------------------------------------------------ the steps

    async def migrate(self) -> None:
        print("the migration job", flush=True)
        engine = sa.create_engine(self.database_url)
        try:
            present = sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if present:
            raise RehearsalFailed(f"the rehearsal needs an empty database; this one has {len(present)} tables")
        early = run([CPPLAN, "worker"], self.env(), timeout=60)
        check(
            early.returncode == 1 and "run `cpplan db upgrade`" in early.stderr + early.stdout,
            "a worker started before the migration job refuses to run",
        )
        upgraded = run([CPPLAN, "db", "upgrade"], self.env())
        check(
            upgraded.returncode == 0 and "this release's" in upgraded.stdout,
            "`cpplan db upgrade` takes the database to head",
        )
        check(DB_PASSWORD not in upgraded.stdout + upgraded.stderr, "its output carries no password")
        current = run([CPPLAN, "db", "current", "--json"], self.env())
        check(current.returncode == 0 and json.loads(current.stdout)["at_head"], "`cpplan db current` says at head")

    async def watchdog_schedule(self) -> None:
        made = run([CPPLAN, "watchdog-schedule"], self.env(), timeout=90)
        check(
            made.returncode == 0 and made.stdout.strip() == f"cpplan-watchdog-{self.queue}",
            "the watchdog job creates the schedule",
        )
        client = await self.client()
        description = await client.get_schedule_handle(f"cpplan-watchdog-{self.queue}").describe()
        check(description.schedule.spec.intervals, "the schedule runs on an interval")

    async def start_product(self, http: httpx.AsyncClient) -> None:
        print("two workers, two front doors, the codec server", flush=True)
        for name in ("worker_a", "worker_b"):
            self.start_worker(name)
        for name in ("web_a", "web_b"):
            self.start_serve(name)
        self.start_codec()
        for name in ("worker_a", "worker_b", "web_a", "web_b", "codec"):
            await eventually(lambda name=name: ready(http, self.url(name)), f"{name} /readyz")
            alive = await http.get(f"{self.url(name)}/healthz")
            body = (await http.get(f"{self.url(name)}/readyz")).json()
            check(
                alive.status_code == 200 and body["status"] == "ready",
                f"{name}: /healthz 200, /readyz {body['checks']}",
            )

    async def dev_tokens_refused(self, http: httpx.AsyncClient) -> None:
        print("development tokens", flush=True)
        made = run([CPPLAN, "dev-token", "sw-demo", "--role", "social-worker"], self.env())
        check(made.returncode == 1 and "refused" in made.stderr, "`cpplan dev-token` refuses in production")
        from starters.web.devkey import dev_token, ensure_dev_key
        from starters.web.settings import DEV_ISSUER

        key = ensure_dev_key(self.work / "dev-key")
        for issuer in (DEV_ISSUER, self.issuer.url):  # the development issuer, and ours forged
            forged = dev_token(key, "sw-demo", ["social-worker"], issuer=issuer, audience="cpplan")
            r = await http.get(f"{self.url('web_a')}/api/work", headers={"Authorization": f"Bearer {forged}"})
            check(r.status_code == 401, f"a token signed with the development key (issuer {issuer!r}) is refused: 401")
            self.requests.append(("(nobody)", "work"))

    async def scenario(self, http: httpx.AsyncClient) -> None:
        print("a plan through both front doors, a worker killed mid-way", flush=True)
        doc = json.loads(DEMO_PLAN.read_text())
        from starters.cases import today_in_london

        today = today_in_london()
        doc |= {"plan_id": self.plan_id, "icpc_date": today.isoformat()}
        a, b = self.url("web_a"), self.url("web_b")
        r = await http.post(f"{a}/api/plans", json=doc, headers=self.auth(CASE_SYSTEM, "start-plan"))
        check(r.status_code == 201, f"the case system starts the plan through front door A: {r.status_code}")
        r = await http.post(f"{b}/api/plans", json=doc, headers=self.auth(CASE_SYSTEM, "start-plan"))
        check(r.status_code == 200, "the same start through front door B is the same plan: 200")
        incident = {"kind": "new-incident", "date": today.isoformat()}
        r = await http.post(
            f"{b}/api/plans/{self.plan_id}/report-incident",
            json=incident,
            headers=self.auth(CASE_SYSTEM, "report-incident"),
        )
        check(r.status_code == 202, "the case system reports an incident: 202")
        await self.plan_status(http)  # answered: a worker holds the plan

        visit = {"date": today.isoformat(), "seen": True, "seen_alone": True}
        headers = self.auth(WORKER, "record-visit", **{"Idempotency-Key": f"visit-{self.plan_id}"})
        sent = asyncio.create_task(http.post(f"{a}/api/plans/{self.plan_id}/record-visit", json=visit, headers=headers))
        await asyncio.sleep(0.2)
        holder = await self.plan_holder()
        killed = self.procs.running[holder]
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        print(f"  {holder}, which held the plan, killed (SIGKILL) while the visit was on its way", flush=True)
        r = await sent
        if r.status_code != 200:  # no answer in time: the same request again, with the same key
            r = await http.post(
                f"{a}/api/plans/{self.plan_id}/record-visit",
                json=visit,
                headers=self.auth(WORKER, "record-visit", **{"Idempotency-Key": f"visit-{self.plan_id}"}),
            )
        check(r.status_code == 200, f"the visit is recorded with a worker gone: {r.status_code}")
        again = await http.post(
            f"{b}/api/plans/{self.plan_id}/record-visit",
            json=visit,
            headers=self.auth(WORKER, "record-visit", **{"Idempotency-Key": f"visit-{self.plan_id}"}),
        )
        check(
            again.status_code == 200 and again.json() == r.json(),
            "the same visit again (same key, other front door) is the same record",
        )

        decision = {"review_date": (today + timedelta(days=14)).isoformat()}
        r = await http.post(
            f"{b}/api/plans/{self.plan_id}/authorise-early-review",
            json=decision,
            headers=self.auth(MANAGER, "authorise-early-review"),
        )
        check(r.status_code == 200, f"the team manager authorises the early review: {r.status_code} {r.text[:200]}")
        refused = await http.post(
            f"{a}/api/plans/{self.plan_id}/authorise-early-review",
            json=decision,
            headers=self.auth(WORKER, "authorise-early-review"),
        )
        check(refused.status_code == 403, "a social worker may not: 403")

    async def plan_holder(self) -> str:
        """The worker process that ran the plan's last workflow task (its identity is pid@host)."""
        import workflows

        client = await self.client()
        history = await client.get_workflow_handle(workflows.workflow_id(self.plan_id)).fetch_history()
        identities = [
            e.workflow_task_started_event_attributes.identity
            for e in history.events
            if e.HasField("workflow_task_started_event_attributes")
        ]
        pid = int(identities[-1].split("@", 1)[0])
        for name in ("worker_a", "worker_b"):
            if self.procs.running[name].pid == pid:
                return name
        raise RehearsalFailed(f"no worker process has pid {pid}")

    async def plan_status(self, http: httpx.AsyncClient) -> dict[str, Any]:
        r = await http.get(f"{self.url('web_b')}/api/plans/{self.plan_id}", headers=self.auth(CASE_SYSTEM, "status"))
        if r.status_code != 200:
            raise RehearsalFailed(f"status of the plan: {r.status_code} {r.text[:200]}")
        return dict(r.json())

    async def records_once(self, http: httpx.AsyncClient) -> None:
        print("every record once", flush=True)
        status = await self.plan_status(http)
        history = [entry["event"] for entry in status["history"]]
        check(history.count("visit") == 1, f"one visit in the plan's history ({history.count('visit')})")
        for event in ("early-review-requested", "early-review-authorised"):
            check(history.count(event) == 1, f"one {event} in its history ({history.count(event)})")

        engine = sa.create_engine(self.database_url)
        try:
            await asyncio.sleep(0)
            with engine.connect() as conn:
                saved = conn.execute(
                    sa.text("SELECT status_json FROM plans WHERE plan_id = :p"), {"p": self.plan_id}
                ).scalar()
                check(saved is not None, "the plan's row is in the PostgreSQL read model")
                keys = [
                    r[0]
                    for r in conn.execute(sa.text("SELECT key FROM outbox WHERE plan_id = :p"), {"p": self.plan_id})
                ]
                check(keys and len(keys) == len(set(keys)), f"{len(keys)} notifications in the outbox, each once")
                states = {
                    r[0]
                    for r in conn.execute(sa.text("SELECT state FROM outbox WHERE plan_id = :p"), {"p": self.plan_id})
                }
                check(states <= {"recorded", "pending"}, f"no SMTP relay: notifications recorded ({sorted(states)})")
                audited = conn.execute(sa.text("SELECT who, action, status FROM audit ORDER BY id")).all()
        finally:
            engine.dispose()
        check(
            len(audited) == len(self.requests),
            f"one audit row per request to either front door ({len(audited)} for {len(self.requests)})",
        )
        check(not any(a.action in ("healthz", "readyz") for a in audited), "the probes are not audited")

    async def codec(self, http: httpx.AsyncClient) -> None:
        print("the codec server", flush=True)
        from google.protobuf import json_format
        from temporalio.api.common.v1 import Payloads
        from temporalio.client import Client

        import workflows

        raw = await Client.connect(f"127.0.0.1:{self.ports['temporal']}")  # no codec: what the UI receives
        history = await raw.get_workflow_handle(workflows.workflow_id(self.plan_id)).fetch_history()
        payloads = history.events[0].workflow_execution_started_event_attributes.input
        body = json.loads(json_format.MessageToJson(Payloads(payloads=payloads.payloads)))
        check(
            self.plan_id not in json.dumps(body) and "sw-demo" not in json.dumps(body),
            "the server holds the plan's start encrypted",
        )
        decode = f"{self.url('codec')}/decode"
        check((await http.post(decode, json=body)).status_code == 401, "the codec server refuses without a token: 401")
        worker_token = {"Authorization": f"Bearer {self.issuer.token(*WORKER)}"}
        check(
            (await http.post(decode, json=body, headers=worker_token)).status_code == 401,
            "a social worker's token is refused: 401",
        )
        r = await http.post(decode, json=body, headers={"Authorization": f"Bearer {self.issuer.token(*OPS)}"})
        opened = base64.b64decode(r.json()["payloads"][0]["data"]).decode() if r.status_code == 200 else ""
        check(self.plan_id in opened, "an ops person's token from the issuer opens it")

    def no_secret_in_logs(self) -> None:
        secrets_ = {"database password": DB_PASSWORD, "codec token": self.codec_token, "codec key": self.codec_keys[3:]}
        for name in self.procs.running:
            text = (self.work / f"{name}.log").read_text(errors="replace")
            for what, value in secrets_.items():
                if value in text:
                    raise RehearsalFailed(f"the {what} is in {name}'s log")
        check(True, "no password, token or key in any process's log")

    async def run(self) -> None:
        await self.start()
        async with httpx.AsyncClient(timeout=60) as http:
            await self.migrate()
            await self.watchdog_schedule()
            await self.start_product(http)
            await self.dev_tokens_refused(http)
            await self.scenario(http)
            await self.records_once(http)
            await self.codec(http)
        self.no_secret_in_logs()

    def stop(self) -> None:
        self.procs.stop_all()
        self.issuer.stop()


def main() -> int:
    database_url = os.environ.get("CPPLAN_REHEARSAL_DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        print("rehearsal: set CPPLAN_REHEARSAL_DATABASE_URL to an empty PostgreSQL database", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cpplan-rehearsal."))
    rehearsal = Rehearsal(database_url, work)
    started = time.monotonic()
    code = 0
    try:
        asyncio.run(rehearsal.run())
        print(f"rehearsal passed in {time.monotonic() - started:.0f} s", flush=True)
        print(f"rehearsal: {PASSED[0]} passed, 0 failed", flush=True)
    except Exception as err:
        code = 1
        print(f"rehearsal FAILED: {err}", file=sys.stderr)
        if not isinstance(err, RehearsalFailed):
            traceback.print_exc()
        print(rehearsal.procs.tails(), file=sys.stderr)
        print(f"rehearsal: {PASSED[0]} passed, 1 failed", flush=True)
    finally:
        rehearsal.stop()
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
