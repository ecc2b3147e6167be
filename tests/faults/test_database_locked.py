"""Another program holds an exclusive lock on the SQLite database for longer than the busy
timeout (lowered to 0.3 s here with CPPLAN_SQLITE_BUSY_TIMEOUT), then lets go. The `notify` and
`save_plan` activities fail with "database is locked" and are retried with backoff (`save_plan`
by the worker, as the local activity it is; a `notify` batch by the server, once its local try
has failed); once the lock is gone every letter goes out exactly once and the read model
catches up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from activities.read_model import get_plan_status, list_outbox
from tests.faults.support import (
    DatabaseLock,
    FaultyMail,
    all_sent,
    assert_each_message_id_once,
    letters_to_everyone,
    outbox_states,
    retried,
    start_plan_today,
)
from tests.helpers import assert_no_failed_workflow_task, eventually, running_worker

LOCKED = "database is locked"


@pytest.fixture
def lock(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[DatabaseLock]:
    monkeypatch.setenv("CPPLAN_SQLITE_BUSY_TIMEOUT", "0.3")
    from activities.db import get_engine

    get_engine()  # the tables exist (and the file is in WAL mode) before anyone locks it
    held = DatabaseLock(db_url)
    try:
        yield held
    finally:
        held.close()


async def saved(plan_id: str, check: Callable[[dict[str, Any]], bool] = lambda status: True) -> dict[str, Any]:
    """Wait (real time) until the read model holds the plan, as `check` wants it."""

    async def ok() -> dict[str, Any]:
        status = get_plan_status(plan_id)
        assert status is not None and check(status), status
        return status

    return await eventually(ok)


async def test_letters_wait_out_a_locked_database_and_go_once(env, db_url, mail: FaultyMail, lock: DatabaseLock):
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        await saved(plan.plan_id)

        lock.take()
        keys = await letters_to_everyone(plan)
        # The batch cannot even be written to the outbox: the activity fails, and is retried.
        failing = await retried(env, plan.handle, "notify", attempts=3, because=LOCKED)
        assert mail.messages == [] and outbox_states(plan.plan_id) == {}
        # Messages still come in meanwhile, and are kept.
        await plan.update("record_visit", {"date": (await plan.status())["icpc_date"], "seen": True})

        lock.release()
        await env.sleep(timedelta(seconds=5 * 2 ** (failing.attempt - 1)))
        await all_sent(plan.plan_id, keys)
        assert_each_message_id_once(mail, keys)
        await saved(plan.plan_id, lambda s: any(h["event"] == "visit" for h in s["history"]))
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_message_that_comes_while_the_read_model_is_locked_is_acted_on_when_it_frees(
    env, db_url, mail: FaultyMail, lock: DatabaseLock
):
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        await saved(plan.plan_id)
        today = (await plan.status())["icpc_date"]

        lock.take()
        # A visit changes the plan: the loop saves it to the read model, which is locked. The
        # save fails after the busy timeout and the worker tries again 5 s later (real time).
        await plan.update("record_visit", {"date": today, "seen": True})
        # While the loop waits on that save, a meeting is arranged: letters to everyone.
        keys = await letters_to_everyone(plan)
        await asyncio.sleep(1)
        assert lock.held and mail.messages == []
        assert not any(h["event"] == "visit" for h in get_plan_status(plan.plan_id)["history"])

        lock.release()
        # The save's next try succeeds, and the letters go straight after it: the plan's next
        # timer is days away, so letters left waiting for it would not arrive in this test.
        await all_sent(plan.plan_id, keys, timeout=60)
        assert_each_message_id_once(mail, keys)
        await saved(plan.plan_id, lambda s: any(h["event"] == "meeting-scheduled" for h in s["history"]))
        assert not (await plan.handle.describe()).raw_description.pending_activities
        await assert_no_failed_workflow_task(plan.handle)


async def test_a_lock_between_the_send_and_its_record_does_not_send_twice(
    env, db_url, mail: FaultyMail, lock: DatabaseLock
):
    # The worst moment: the server has accepted the third letter and the worker is about to
    # record it `sent` when the database locks (taken by the mail server's thread, straight
    # after accepting). Were the record given up, the letter would be mailed again once the
    # claim on it lapsed; the worker instead keeps trying to record it until the lock goes.
    mail.after_accept = lambda n: lock.take() if n == 3 else None
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        await saved(plan.plan_id)
        keys = await letters_to_everyone(plan)

        async def locked() -> None:
            assert lock.held and len(mail.messages) == 3

        await eventually(locked)
        await asyncio.sleep(2)  # real time: several busy timeouts pass while the lock is held
        assert {r["key"] for r in list_outbox(plan.plan_id) if r["state"] == "sent"} == set(keys[:2])
        lock.release()
        await all_sent(plan.plan_id, keys)
        assert_each_message_id_once(mail, keys)
        await assert_no_failed_workflow_task(plan.handle)
