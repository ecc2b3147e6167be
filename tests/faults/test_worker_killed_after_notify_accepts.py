"""The worker is killed (SIGKILL) between GOV.UK Notify's 201 and its own record of the send;
another worker takes over. Through Notify there is no duplicate at all: before sending a
message that may have gone, the worker asks Notify for notifications with its reference
(activities/notify.py), finds it, and records it sent. Nor does it wait out the dead worker's
claim, as it must with SMTP (test_worker_killed_mid_send.py). Notify is the local stand-in,
over HTTP, called by the official client in the worker process."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator

import pytest

from activities.channels import reference
from starters.notify_standin import SAMPLE_KEY, StandIn, StandInServer
from tests.faults.support import all_sent, letters_to_everyone, outbox_states, start_plan_today, worker_process
from tests.helpers import assert_no_failed_workflow_task, new_task_queue, running_worker

HELD = 3  # the third message of the batch is the one Notify has when the worker dies


@pytest.fixture
def notify(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in, and the environment (which the worker process inherits) pointed at it;
    no SMTP, so Notify is the only channel."""
    server = StandInServer(StandIn(receipt_delay_s=600)).start()
    monkeypatch.delenv("CPPLAN_SMTP_URL", raising=False)
    monkeypatch.setenv("CPPLAN_NOTIFY_API_KEY", SAMPLE_KEY)
    monkeypatch.setenv("CPPLAN_NOTIFY_BASE_URL", server.base_url)
    monkeypatch.setenv("CPPLAN_NOTIFY_TEMPLATE_LETTER", "t-letter")
    try:
        yield server.standin
    finally:
        server.stop()


async def test_a_worker_killed_after_notifys_201_sends_nothing_twice(env, db_url, notify: StandIn, tmp_path):
    notify.hold_at = HELD
    task_queue = new_task_queue()
    async with worker_process(env, task_queue, tmp_path / "worker-1.log") as first:
        plan = await start_plan_today(env, task_queue)
        keys = await letters_to_everyone(plan)

        # Letters 1 and 2 went and were recorded; Notify has letter 3 (its 201 held back) when
        # the worker dies, so letter 3 is on Notify's record and not on ours.
        assert await asyncio.to_thread(notify.holding.wait, 20), "the batch never reached the third message"
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
    notify.release.set()

    references = [reference(k, "notify", "email") for k in keys]
    assert [m["reference"] for m in notify.messages] == references[:HELD]
    states = outbox_states(plan.plan_id)
    assert [states[k] for k in keys] == ["sent"] * (HELD - 1) + ["pending"] * (len(keys) - HELD + 1)

    async with running_worker(env, task_queue=task_queue):
        # Well inside the dead worker's two-minute claim on letter 3: it is found at Notify.
        await all_sent(plan.plan_id, keys, timeout=90)
        sent = Counter(m["reference"] for m in notify.messages)
        assert set(sent) == set(references), "a letter was lost or an unexpected one sent"
        assert all(n == 1 for n in sent.values()), f"sent more than once: {sent}"
        status = await plan.status()
        assert not [h for h in status["history"] if h["event"] == "notification-failed"]
        await assert_no_failed_workflow_task(plan.handle)
