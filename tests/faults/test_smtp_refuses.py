"""A real SMTP server that refuses: for a while (421), then recovers; or for good (550) for one
recipient. A transient refusal is retried, with backoff, until every letter is delivered, once
each; a permanent one is not retried, its row is `failed`, and a manager is told.

A batch is first tried as a local activity, in the workflow task that found it due; a batch that
fails there and can be retried goes to a regular `notify` activity, which the server retries."""

from __future__ import annotations

from datetime import timedelta

from activities.mail import message_id
from activities.read_model import list_outbox
from tests.faults.support import (
    TEAM_MANAGER,
    FaultyMail,
    all_sent,
    assert_each_message_id_once,
    letters_to_everyone,
    notify_attempts,
    retried,
    start_plan_today,
)
from tests.helpers import assert_no_failed_workflow_task, eventually, running_worker

ACCEPTED_FIRST = 2  # the server takes two letters, then says 421 to everything until it recovers


async def test_a_server_that_defers_then_recovers_gets_every_letter_once(env, db_url, mail: FaultyMail):
    mail.defer_after = ACCEPTED_FIRST
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        keys = await letters_to_everyone(plan)

        # Each attempt skips the letters already sent and stops at the first 421: the local
        # try, then the regular activity, which Temporal retries after its backoff (server time,
        # skipped here).
        failing = await retried(env, plan.handle, "notify", attempts=3, because="SMTP 421")
        assert [str(m["Message-ID"]) for m in mail.messages] == [message_id(k) for k in keys[:ACCEPTED_FIRST]]
        rows = {r["key"]: r for r in list_outbox(plan.plan_id)}
        held_up = rows[keys[ACCEPTED_FIRST]]
        # Tried once by the local attempt, then once per failed attempt of the activity
        # (`failing.attempt` is the one it waits for).
        assert (held_up["state"], held_up["attempts"]) == ("pending", failing.attempt)
        assert "421" in held_up["last_error"]
        assert all((rows[k]["state"], rows[k]["attempts"]) == ("pending", 0) for k in keys[ACCEPTED_FIRST + 1 :])

        mail.recovered.set()
        await env.sleep(timedelta(seconds=5 * 2 ** (failing.attempt - 1)))
        await all_sent(plan.plan_id, keys)
        assert_each_message_id_once(mail, keys)
        assert not [h for h in (await plan.status())["history"] if h["event"] == "notification-failed"]

        # Retried with backoff and without a limit on attempts: retrying is what fixes a 4xx.
        local, retried_activity = await notify_attempts(plan.handle)
        assert (local.kind, local.attempt) == ("local", 1)
        assert (retried_activity.kind, retried_activity.attempt) == ("activity", failing.attempt)
        policy = retried_activity.retry_policy
        assert (policy.initial_interval.seconds, policy.backoff_coefficient, policy.maximum_interval.seconds) == (
            5,
            2.0,
            600,
        )
        assert policy.maximum_attempts == 0
        await assert_no_failed_workflow_task(plan.handle)


async def test_an_address_refused_for_good_is_not_retried_and_the_team_manager_is_told(env, db_url, mail: FaultyMail):
    mail.refuse.add("cg-2@example.org")
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        keys = await letters_to_everyone(plan)
        refused_key = f"{plan.plan_id}:letter-1:cg-2"
        alert_key = f"{plan.plan_id}:notification-failed-1:{TEAM_MANAGER}"

        async def told() -> None:
            states = {r["key"]: r["state"] for r in list_outbox(plan.plan_id)}
            assert states.get(alert_key) == "sent", states

        await eventually(told)
        rows = {r["key"]: r for r in list_outbox(plan.plan_id)}
        assert (rows[refused_key]["state"], rows[refused_key]["attempts"]) == ("failed", 1)
        assert rows[refused_key]["last_error"].startswith("SMTP 550 recipient refused")
        assert "cg-2@example.org" not in rows[refused_key]["last_error"]
        delivered = [k for k in keys if k != refused_key] + [alert_key]
        assert {k: rows[k]["state"] for k in delivered} == {k: "sent" for k in delivered}
        assert set(rows) == set(keys) | {alert_key}
        assert_each_message_id_once(mail, delivered)

        # The team manager's e-mail says who was not reached and why, without the address.
        [alert] = [
            m
            for m in mail.messages
            if m["To"] == f"{TEAM_MANAGER}@example.org" and "could not be delivered" in m["Subject"]
        ]
        body = alert.get_payload(decode=True).decode()
        assert "cg-2" in body and "SMTP 550" in body and "cg-2@example.org" not in body

        # Recorded in the plan's history and escalations.
        status = await plan.status()
        failed, alerted = [h for h in status["history"] if h["event"] == "notification-failed"]
        assert (failed["key"], failed["to"]) == (refused_key, "cg-2")  # what could not be delivered
        assert alerted["to"] == [TEAM_MANAGER]  # and who was told
        assert any(e["kind"] == "notification-failed" and e["to"] == TEAM_MANAGER for e in status["escalations"])

        # Not retried: one local attempt did the whole batch, and an hour later the server has
        # still been offered that address once.
        await env.sleep(timedelta(hours=1))
        assert mail.rcpts.count("cg-2@example.org") == 1
        attempts = await notify_attempts(plan.handle)
        assert [(a.kind, a.attempt) for a in attempts] == [("local", 1), ("local", 1)]  # letters, then the alert
        await assert_no_failed_workflow_task(plan.handle)


async def test_when_the_team_managers_own_address_is_refused_the_service_manager_is_told(env, db_url, mail: FaultyMail):
    mail.refuse.add(f"{TEAM_MANAGER}@example.org")
    async with running_worker(env) as tq:
        plan = await start_plan_today(env, tq)
        await letters_to_everyone(plan)
        alert_key = f"{plan.plan_id}:notification-failed-1:sm-1"

        async def told() -> None:
            states = {r["key"]: r["state"] for r in list_outbox(plan.plan_id)}
            assert states.get(alert_key) == "sent", states
            assert states[f"{plan.plan_id}:letter-1:{TEAM_MANAGER}"] == "failed", states

        await eventually(told)
        assert any(m["To"] == "sm-1@example.org" and "could not be delivered" in m["Subject"] for m in mail.messages)
        await assert_no_failed_workflow_task(plan.handle)
