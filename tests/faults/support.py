"""Helpers for the fault tests: a real SMTP server that misbehaves on cue, a worker in its own
process, and plans whose one message sends a batch of letters.

What "exactly once" means in these tests
----------------------------------------
The outbox gives every notification a key, and the e-mail's Message-ID is derived from that key
(`activities.mail.message_id`). A key is mailed at most once by cpplan's own record: once its
row is `sent` it is never mailed again. The single gap no sender can close is a crash after the
SMTP server has accepted a message (250) and before the worker has recorded it: that one
message is sent again, with the same Message-ID, so the receiving side can drop the copy. So
the tests assert that
- the set of distinct Message-IDs the server accepted is exactly the set expected (none lost,
  none extra), and
- every Message-ID was accepted once, except, in the crash test only, the one message in flight
  at the moment of the kill, which may be accepted twice (never more);
- every outbox row ends `sent` (or `failed` where the server refused it for good).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.mail import message_id
from activities.read_model import list_outbox
from tests.activities.activity_test_support import MailCollector, SmtpServer
from tests.helpers import eventually, plan_doc, start_plan_workflow
from tests.helpers.plan_scenario import Plan
from workflows.calendar import local_date

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORE_GROUP = [f"cg-{i}" for i in range(1, 7)]
TEAM_MANAGER = "tm-1"


@dataclass
class FaultyMail(MailCollector):
    """An aiosmtpd handler (it runs on the server's own thread and loop) that keeps what it
    accepts, like `MailCollector`, and misbehaves when told:

    - `hold_at=N`: the N-th message is accepted (kept, as a server that has queued it would),
      but its "250" reply is held back until `release` is set: the sender is mid-batch, waiting;
    - `defer_after=N`: once N messages are accepted, every recipient gets "421 service not
      available" until `recovered` is set;
    - `after_accept(n)`: called with the count straight after the n-th message is kept.
    """

    hold_at: int | None = None
    defer_after: int | None = None
    after_accept: Callable[[int], None] | None = None
    rcpts: list[str] = field(default_factory=list)  # every recipient offered, accepted or not
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    recovered: threading.Event = field(default_factory=threading.Event)
    deferred: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        self.rcpts.append(address)
        if self.defer_after is not None and len(self.messages) >= self.defer_after and not self.recovered.is_set():
            self.deferred += 1
            return "421 4.3.2 Service not available, try again later"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        count = len(self.messages)
        if self.after_accept is not None:
            self.after_accept(count)
        if count == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return reply

    def message_ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.messages)


def start_mail_server(port: int, handler: FaultyMail, monkeypatch: pytest.MonkeyPatch) -> SmtpServer:
    server = SmtpServer(port=port, collector=handler)
    server.start()
    # The worker (in this process or a child) reads where to send from the environment.
    monkeypatch.setenv("CPPLAN_SMTP_URL", f"smtp://127.0.0.1:{port}?from=cpplan@example.org&helo=localhost&timeout=5")
    return server


def everyone_doc(icpc: str) -> dict[str, Any]:
    """A plan whose every person has an e-mail address: a letter to everyone is a batch of
    eight e-mails (lead social worker, team manager and six core group members)."""

    def person(pid: str, role: str) -> dict[str, str]:
        return {"id": pid, "role": role, "email": f"{pid}@example.org"}

    return plan_doc(
        icpc_date=icpc,
        plan_id=f"f-{uuid.uuid4().hex[:8]}",
        lead_social_worker=person("sw-1", "lead-social-worker"),
        team_manager=person(TEAM_MANAGER, "team-manager"),
        service_manager=person("sm-1", "service-manager"),
        core_group=[person(pid, "professional") for pid in CORE_GROUP],
    )


def letter_recipients() -> list[str]:
    return ["sw-1", TEAM_MANAGER, *CORE_GROUP]


async def today(env: WorkflowEnvironment) -> str:
    """The test server's date in London: its clock starts at the real now and a conference may
    not be in the future, so these plans start today and need no skipping to get there."""
    return local_date(await env.get_current_time()).isoformat()


async def start_plan_today(env: WorkflowEnvironment, task_queue: str) -> Plan:
    doc = everyone_doc(await today(env))
    handle = await start_plan_workflow(env.client, doc, task_queue=task_queue)
    plan = Plan(env, handle, doc["plan_id"])
    await plan.started()
    return plan


async def letters_to_everyone(plan: Plan) -> list[str]:
    """`schedule_meeting` for the first core group a week after the conference (within its
    limit of 10 working days, and too far off for its reminder to fall due): 000 9.2.6 says
    everyone is told in writing, so the plan leaves one letter per person, and nothing else, in
    its outbox. Returns their keys, in the order they are mailed."""
    icpc = (await plan.status())["icpc_date"]
    in_a_week = (date.fromisoformat(icpc) + timedelta(days=7)).isoformat()
    await plan.update("schedule_meeting", {"kind": "core_group", "date": in_a_week})
    return [f"{plan.plan_id}:letter-1:{pid}" for pid in letter_recipients()]


def outbox_states(plan_id: str) -> dict[str, str]:
    return {row["key"]: row["state"] for row in list_outbox(plan_id)}


async def all_sent(plan_id: str, keys: list[str], timeout: float = 20.0) -> dict[str, dict[str, Any]]:
    """Wait (real time) until every key's outbox row is `sent`; return the rows by key. The
    outbox must hold no other row: nothing else was due."""

    async def check() -> dict[str, dict[str, Any]]:
        rows = {row["key"]: row for row in list_outbox(plan_id)}
        missing = [k for k in keys if rows.get(k, {}).get("state") != "sent"]
        assert not missing, f"not sent: {[(k, rows.get(k, {}).get('state')) for k in missing]}"
        return rows

    rows = await eventually(check, timeout=timeout)
    assert set(rows) == set(keys), f"unexpected outbox rows: {set(rows) - set(keys)}"
    return rows


def assert_each_message_id_once(mail: FaultyMail, keys: list[str], *, may_repeat: set[str] = frozenset()) -> None:
    """The exactly-once check described at the top of this module."""
    expected = {message_id(k) for k in keys}
    seen = mail.message_ids()
    assert set(seen) == expected, (
        f"lost: {expected - set(seen)}; unexpected: {[(m['Subject'], m['To']) for m in mail.messages if m['Message-ID'] not in expected]}"
    )
    allowed = {message_id(k) for k in may_repeat}
    doubled = {mid: n for mid, n in seen.items() if n > 1 and mid not in allowed}
    assert not doubled, f"mailed more than once: {doubled}"
    assert all(n <= 2 for n in seen.values()), f"resent more than once: {seen}"


@dataclass
class NotifyAttempt:
    """One attempt at a `notify` batch: "local" for the first try, a local activity inside the
    workflow task; "activity" for each start of the regular activity a retryable failure hands
    the batch to (with the retry policy it was scheduled with)."""

    kind: str
    attempt: int
    retry_policy: Any = None


async def notify_attempts(handle: WorkflowHandle[Any, Any]) -> list[NotifyAttempt]:
    """Every attempt at a `notify` batch that the plan's history records, in order."""
    found: list[NotifyAttempt] = []
    scheduled: dict[int, Any] = {}
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attrs = event.marker_recorded_event_attributes
            if attrs.marker_name == "core_local_activity":
                # The marker's own data (not the activity's result) is the SDK core's, in JSON.
                data = json.loads(attrs.details["data"].payloads[0].data)
                if data["activity_type"] == "notify":
                    found.append(NotifyAttempt("local", data["attempt"]))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "notify":
                scheduled[event.event_id] = attrs.retry_policy
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            if attrs.scheduled_event_id in scheduled:
                found.append(NotifyAttempt("activity", attrs.attempt, scheduled[attrs.scheduled_event_id]))
    return found


@dataclass
class Pending:
    """One activity the plan is waiting for: its attempt number and the last attempt's failure."""

    attempt: int
    failure: str


async def pending(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], activity_type: str) -> Pending | None:
    """The plan's pending activity of that type, if any; the failure decrypted (failure
    messages are encrypted on the server like every payload)."""
    description = await handle.describe()
    for activity in description.raw_description.pending_activities:
        if activity.activity_type.name == activity_type:
            failure = ""
            if activity.HasField("last_failure"):
                failure = str(await env.client.data_converter.decode_failure(activity.last_failure))
            return Pending(attempt=activity.attempt, failure=failure)
    return None


async def retried(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], activity_type: str, attempts: int, because: str
) -> Pending:
    """Skip server time (the retry backoff) until the activity has failed `attempts` times
    (`because` in its last failure) and is waiting for its next attempt."""
    for _ in range(attempts + 5):
        try:
            return await eventually(lambda: _retried(env, handle, activity_type, attempts, because), timeout=2)
        except AssertionError:
            await env.sleep(timedelta(seconds=15))
    return await _retried(env, handle, activity_type, attempts, because)


async def _retried(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], activity_type: str, attempts: int, because: str
) -> Pending:
    found = await pending(env, handle, activity_type)
    assert found is not None and found.attempt > attempts and because in found.failure, found
    return found


class DatabaseLock:
    """An exclusive lock on the SQLite database, taken from a connection of its own (as another
    program on the host would): writers wait for their busy timeout, then fail."""

    def __init__(self, db_url: str):
        self.conn = sqlite3.connect(
            db_url.removeprefix("sqlite:///"), timeout=10, isolation_level=None, check_same_thread=False
        )
        self.held = False

    def take(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.conn.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self.conn.close()


@asynccontextmanager
async def worker_process(
    env: WorkflowEnvironment, task_queue: str, log_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The project's worker in a child process, against this test's server, with this test's
    environment (database, SMTP, payload keys); yields once it polls. Killed on exit if alive."""
    target = env.client.service_client.config.target_host
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.worker_process",
            "--address",
            target,
            "--task-queue",
            task_queue,
            cwd=PROJECT_ROOT,
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        try:
            assert proc.stdout is not None
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
            except TimeoutError:
                line = b""
            if line.strip() != b"ready":
                pytest.fail(
                    f"the worker process did not start: {line!r}\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            yield proc
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
