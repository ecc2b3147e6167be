"""The worker is killed (SIGKILL) in the middle of mailing a batch of letters; another worker
takes over. Every letter arrives; each Message-ID is accepted once, except the one whose "250"
the dead worker never heard, which may be accepted a second time with the same Message-ID (the
receiver drops the copy; tests/faults/support.py says what exactly-once means here)."""

from __future__ import annotations

import asyncio
import signal

import pytest

from activities.mail import message_id
from tests.faults.support import (
    FaultyMail,
    all_sent,
    assert_each_message_id_once,
    letters_to_everyone,
    outbox_states,
    start_plan_today,
    worker_process,
)
from tests.helpers import assert_no_failed_workflow_task, new_task_queue, running_worker

HELD = 3  # the third e-mail of the batch is the one in flight when the worker dies


@pytest.mark.slow(
    reason=(
        "about 3 minutes of real time: the dead worker's claim on the e-mail in flight holds every "
        "other attempt off for its lease (2 minutes), and the activity's retries that wait it out "
        "back off in real time, since the test waits on the mailbox, not on the workflow"
    )
)
async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(env, db_url, mail: FaultyMail, tmp_path):
    mail.hold_at = HELD
    task_queue = new_task_queue()
    async with worker_process(env, task_queue, tmp_path / "worker-1.log") as first:
        plan = await start_plan_today(env, task_queue)
        keys = await letters_to_everyone(plan)

        # The first worker mails letters 1 and 2 (recorded `sent`), then letter 3: the server
        # has it, but the worker is still waiting for the server's reply when it is killed.
        assert await asyncio.to_thread(mail.holding.wait, 20), "the batch never reached the third e-mail"
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL
    mail.release.set()

    assert [str(m["Message-ID"]) for m in mail.messages] == [message_id(k) for k in keys[:HELD]]
    states = outbox_states(plan.plan_id)
    assert [states[k] for k in keys] == ["sent"] * (HELD - 1) + ["pending"] * (len(keys) - HELD + 1)

    async with running_worker(env, task_queue=task_queue):
        # The dead worker was sending inside its workflow task (the batch's local try): once
        # Temporal times that task out, the new worker replays the plan and tries the batch
        # again. Letter 3 is still claimed by the dead worker (activities.outbox.CLAIM_LEASE,
        # 2 minutes), so the batch goes to the `notify` activity, whose retries wait the claim out.
        await all_sent(plan.plan_id, keys, timeout=300)
        # Letters 1 and 2 were not mailed again; letter 3, accepted before the kill but never
        # recorded, went once more with the same Message-ID; letters 4 to 8 went once each.
        assert_each_message_id_once(mail, keys, may_repeat={keys[HELD - 1]})
        assert mail.message_ids()[message_id(keys[HELD - 1])] == 2
        status = await plan.status()
        assert not [h for h in status["history"] if h["event"] == "notification-failed"]
        await assert_no_failed_workflow_task(plan.handle)
