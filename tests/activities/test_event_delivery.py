"""Events out, to a real receiver over HTTP that verifies each request with the Standard Webhooks
package's own verifier: signed deliveries, a receiver down then up, one failing for good then
sent again, and a delivery loop killed mid-post (at least once, the same `webhook-id`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from activities.db import event_deliveries, events, get_engine
from activities.event_outbox import endpoint_trouble
from activities.read_model import save_plan
from activities.webhook_endpoints import Endpoint, WebhookSettingError, endpoints
from starters import cli
from tests.activities.activity_test_support import run_activity
from tests.activities.test_activity_read_model import status
from tests.helpers import eventually
from tests.helpers.webhook_receiver import HOLD, Receiver
from worker.event_delivery import EventDelivery, Retry
from workflows.activity_io import PlanSnapshot

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
QUICK = Retry(first=timedelta(milliseconds=50), longest=timedelta(milliseconds=200), give_up_after=timedelta(hours=1))

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured


async def record_events(monkeypatch: pytest.MonkeyPatch, plan_id: str = "P-1") -> set[str]:
    """A plan's first save, with endpoint 1 configured: four events to deliver."""
    monkeypatch.setenv("CPPLAN_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    await run_activity(save_plan, PlanSnapshot(plan_id=plan_id, status=status(plan_id), updated_at=T0))
    with get_engine().connect() as conn:
        return set(conn.execute(sa.select(events.c.event_id).where(events.c.plan_id == plan_id)).scalars())


def states() -> dict[str, tuple[str, int, str | None]]:
    with get_engine().connect() as conn:
        rows = conn.execute(sa.select(event_deliveries))
        return {r.event_id: (r.state, r.attempts, r.last_error) for r in rows}


def loop_for(receiver: Receiver, retry: Retry = QUICK, timeout: float = 2.0) -> EventDelivery:
    return EventDelivery([Endpoint("1", receiver.url, receiver.secret)], retry=retry, timeout=timeout, poll=0.05)


@asynccontextmanager
async def delivering(delivery: EventDelivery) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_each_event_reaches_the_receiver_once_signed_as_a_cloud_event(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await record_events(monkeypatch)
    receiver = await Receiver().start()
    try:
        async with aiohttp.ClientSession() as session:
            assert await loop_for(receiver).deliver_due(session) == 4
            assert await loop_for(receiver).deliver_due(session) == 0  # delivered: never again
    finally:
        await receiver.stop()

    assert receiver.refused == 0
    assert sorted(receiver.ids()) == sorted(ids)
    for got in receiver.received:
        assert got.event.get_id() == got.webhook_id  # the CloudEvent's id is the webhook-id
        assert got.event.get_subject() == "P-1" and got.event.get_source() == "urn:cpplan"
        assert got.headers["Content-Type"] == "application/cloudevents+json"
    [started] = [r for r in receiver.received if r.type == "uk.gov.cpplan.plan.started"]
    assert started.data["child_ref"] == "C-1" and started.data["icpc_date"] == "2026-11-02"
    assert {s for s, _, _ in states().values()} == {"delivered"}


async def test_a_receiver_with_another_secret_refuses_them_and_they_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await record_events(monkeypatch)
    receiver = await Receiver().start()
    wrong = Endpoint("1", receiver.url, Receiver().secret)
    try:
        async with aiohttp.ClientSession() as session:
            await EventDelivery([wrong], retry=QUICK, timeout=2, poll=0.05).deliver_due(session)
    finally:
        await receiver.stop()
    assert receiver.refused == 1 and receiver.received == []  # one tried; the endpoint left for the round
    assert {e: s[0] for e, s in states().items()} == dict.fromkeys(ids, "pending")
    assert "HTTP 401" in {s[2] for s in states().values()}


async def test_a_receiver_down_then_up_gets_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await record_events(monkeypatch)
    receiver = Receiver()  # not listening yet: connection refused
    delivery = loop_for(receiver)
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            assert await delivery.deliver_due(session) == 0
            await asyncio.sleep(0.1)
    tried = {e: s for e, s in states().items() if s[1]}
    assert tried and all(s[0] == "pending" and s[2].startswith("cannot connect") for s in tried.values())
    assert not any("token" in (s[2] or "") for s in states().values())  # never the URL
    [trouble] = endpoint_trouble(get_engine())
    assert (trouble.endpoint, trouble.failed, trouble.retrying) == ("1", 0, len(tried))

    await receiver.start()
    try:
        async with delivering(delivery):

            async def all_in() -> None:
                assert set(receiver.ids()) == ids

            await eventually(all_in, timeout=20)
    finally:
        await receiver.stop()
    assert len(receiver.ids()) == len(ids)  # each once
    assert endpoint_trouble(get_engine()) == []


async def test_a_delivery_failing_for_good_is_reported_then_sent_again_by_redeliver(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = await record_events(monkeypatch)
    answer = {"status": 503}
    receiver = await Receiver(answer=lambda _: answer["status"]).start()
    giving_up = Retry(first=timedelta(milliseconds=20), longest=timedelta(milliseconds=50), give_up_after=timedelta(0))
    try:
        async with delivering(loop_for(receiver, retry=giving_up)):

            async def all_failed() -> None:
                assert {s[0] for s in states().values()} == {"failed"}

            await eventually(all_failed, timeout=20)
        first_ids = receiver.ids()
        [trouble] = endpoint_trouble(get_engine())
        assert (trouble.failed, trouble.retrying, trouble.last_error) == (4, 0, "HTTP 503")
        assert "4 event(s) not delivered, given up" in trouble.describe()

        assert await cli.run(["events", "list", "--state", "failed", "--json"]) == 0
        listed = capsys.readouterr().out
        assert all(i in listed for i in ids)

        answer["status"] = 204
        assert await cli.run(["events", "redeliver", "--failed"]) == 0
        assert capsys.readouterr().out.strip() == "4 deliveries to be sent again"
        async with delivering(loop_for(receiver)):

            async def all_delivered() -> None:
                assert {s[0] for s in states().values()} == {"delivered"}

            await eventually(all_delivered, timeout=20)
    finally:
        await receiver.stop()
    # Sent again under the same webhook-id, so the receiver can tell it has seen it.
    assert set(receiver.ids()[len(first_ids) :]) == set(first_ids) == ids
    assert endpoint_trouble(get_engine()) == []

    # One event sent again on request, though delivered.
    one = sorted(ids)[0]
    assert await cli.run(["events", "redeliver", one]) == 0
    assert states()[one][0] == "pending"
    assert await cli.run(["events", "redeliver", "evt_nonesuch"]) == 1
    assert "no event 'evt_nonesuch'" in capsys.readouterr().err


async def test_a_delivery_loop_killed_mid_post_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, database: str, tmp_path: Path
) -> None:
    ids = await record_events(monkeypatch)
    held: list[str] = []

    def hold_the_first(got) -> int:
        if not held:
            held.append(got.webhook_id)
            return HOLD
        return 200

    receiver = await Receiver(answer=hold_the_first).start()
    env = {
        **os.environ,
        "CPPLAN_DATABASE_URL": database,
        **receiver.env(),
        "CPPLAN_WEBHOOK_TIMEOUT": "3",  # its claim lasts 2 x 3 + 5 s
        "CPPLAN_WEBHOOK_POLL": "0.1",
    }
    script = "import asyncio; from worker.event_delivery import EventDelivery; asyncio.run(EventDelivery().run())"
    log = (tmp_path / "loop.log").open("w")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:

        async def posting() -> None:
            assert held

        await eventually(posting, timeout=30, interval=0.01)
        process.send_signal(signal.SIGKILL)  # mid-post: the receiver has it, the sender never heard
        process.wait(10)
        assert states()[held[0]][0] == "pending"

        async with delivering(loop_for(receiver)):

            async def all_delivered() -> None:
                assert {s[0] for s in states().values()} == {"delivered"}

            await eventually(all_delivered, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        await receiver.stop()
        log.close()
    assert set(receiver.ids()) == ids
    assert receiver.ids().count(held[0]) == 2  # at least once: the same webhook-id, twice


def test_an_endpoint_setting_that_cannot_work_is_named_and_its_value_never_shown() -> None:
    url, good = "https://case.example/e?token=s3cret", "whsec_" + "QUJD" * 8
    for environ, words in (
        ({"CPPLAN_WEBHOOK_URL": url}, "CPPLAN_WEBHOOK_SECRET is not set"),
        ({"CPPLAN_WEBHOOK_URL": url, "CPPLAN_WEBHOOK_SECRET": "s3cret-plain"}, "CPPLAN_WEBHOOK_SECRET must be"),
        ({"CPPLAN_WEBHOOK_URL": url, "CPPLAN_WEBHOOK_SECRET": "whsec_QUJD"}, "24 to 64 random bytes, not 3"),
        ({"CPPLAN_WEBHOOK_URL": "ftp://x/s3cret", "CPPLAN_WEBHOOK_SECRET": good}, "CPPLAN_WEBHOOK_URL must be"),
        ({"CPPLAN_WEBHOOK_URL_1": url}, "CPPLAN_WEBHOOK_URL_1: more endpoints are numbered from 2"),
    ):
        with pytest.raises(WebhookSettingError) as refused:
            endpoints(environ)
        assert words in str(refused.value) and "s3cret" not in str(refused.value)
    both = endpoints(
        {
            "CPPLAN_WEBHOOK_URL": url,
            "CPPLAN_WEBHOOK_SECRET": good,
            "CPPLAN_WEBHOOK_URL_2": "http://127.0.0.1:1/",
            "CPPLAN_WEBHOOK_SECRET_2": good,
        }
    )
    assert [e.name for e in both] == ["1", "2"] and "s3cret" not in repr(both)


async def test_a_worker_with_a_webhook_setting_that_cannot_work_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.main import run_worker

    monkeypatch.setenv("CPPLAN_WEBHOOK_URL", "https://case.example/e")
    monkeypatch.setenv("CPPLAN_WEBHOOK_SECRET", "not-a-whsec")
    # Refused before it connects: no server listens on this address.
    with pytest.raises(WebhookSettingError, match="CPPLAN_WEBHOOK_SECRET must be a Standard Webhooks secret"):
        await run_worker("127.0.0.1:1")
