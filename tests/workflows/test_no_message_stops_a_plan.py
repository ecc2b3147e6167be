"""No message stops a plan: whatever a client sends through the real server (no payload, two,
bytes that are not JSON, a name that is no message), the plan still answers `status` and takes a
visit; a signal it cannot read is kept as an unreadable message and the team manager is told;
an update it cannot read is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue

from tests.helpers import assert_no_failed_workflow_task, eventually, plan_doc, running_worker, start_plan_workflow
from tests.helpers.plan_scenario import Plan
from workflows.calendar import local_date

NOT_JSON = RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{not json"))


async def _plan_three_days_old(env: Any, tq: str) -> Plan:
    """A London plan whose conference was three days before the server's today."""
    today = local_date(await env.get_current_time())
    doc = plan_doc(icpc_date=(today - timedelta(days=3)).isoformat())
    plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    return plan


async def _still_takes_a_visit(plan: Plan, env: Any) -> None:
    today = local_date(await env.get_current_time())
    result = await plan.update("record_visit", {"date": today.isoformat(), "seen": True})
    assert result["statutory"] is True
    await assert_no_failed_workflow_task(plan.handle)


SIGNALS = [
    ("report_death with no payload", "report_death", [], "report_death takes one payload"),
    (
        "report_death with two payloads",
        "report_death",
        [{"date": "2020-01-01"}, {"date": "2020-01-02"}],
        "2 were sent",
    ),
    ("report_missing with bytes that are not JSON", "report_missing", [NOT_JSON], ""),
    ("a name that is no message", "report_birthday", [{"date": "2020-01-01"}], "no such message"),
    ("report_death with a payload that is not an object", "report_death", ["2026-12-01"], "expected a JSON object"),
    ("report_death dated in the future", "report_death", [{"date": "2099-01-01"}], "2099-01-01 is in the future"),
    ("escalate by a parent", "escalate", [{"by": "par-1", "to": "hos-1"}], "not one of this plan's managers"),
]


@pytest.mark.parametrize(("case", "name", "args", "reason"), SIGNALS, ids=[s[0] for s in SIGNALS])
async def test_a_signal_that_cannot_be_read_is_kept_and_the_team_manager_told(env, db_url, case, name, args, reason):
    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        await plan.handle.signal(name, args=args)

        await plan.told("alert", "tm-1")
        status = await plan.status()
        unreadable = [h for h in status["history"] if h["event"] == "unreadable-message" and "message" in h]
        assert len(unreadable) == 1, status["history"]
        assert unreadable[0]["message"] == name
        assert reason in unreadable[0]["reason"]
        assert status["state"] == "active", "an unreadable report_death must not end the plan"
        await _still_takes_a_visit(plan, env)


UPDATES = [
    ("record_visit with no payload", "record_visit", [], "record_visit takes one payload"),
    ("record_visit with two payloads", "record_visit", [{"seen": True}, {"seen": False}], "2 were sent"),
    ("a name that is no message", "record_birthday", [{"date": "2020-01-01"}], "no message named 'record_birthday'"),
]


@pytest.mark.parametrize(("case", "name", "args", "reason"), UPDATES, ids=[u[0] for u in UPDATES])
async def test_an_update_that_cannot_be_read_is_refused_and_the_plan_runs_on(env, db_url, case, name, args, reason):
    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        before = await plan.status()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await plan.handle.execute_update(name, args=args, result_type=dict)
        assert reason in str(refused.value.cause)
        assert await plan.status() == before
        await _still_takes_a_visit(plan, env)


async def test_an_update_whose_bytes_are_not_json_is_refused_kept_and_told(env, db_url):
    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await plan.handle.execute_update("record_visit", NOT_JSON, result_type=dict)
        assert "could not be read" in str(refused.value.cause)
        await plan.told("alert", "tm-1")
        history = (await plan.status())["history"]
        assert [h["message"] for h in history if h["event"] == "unreadable-message" and "message" in h] == [
            "record_visit"
        ]
        await _still_takes_a_visit(plan, env)


async def test_every_message_sent_with_no_payload_leaves_the_plan_running(env, db_url):
    """Every message the plan declares (workflows/messages.py), sent bare: each update is refused,
    each signal kept as unreadable; then the plan still answers and takes a visit."""
    from workflows.messages import PLAN_MESSAGES

    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        for spec in PLAN_MESSAGES:
            if spec.kind == "update":
                with pytest.raises(WorkflowUpdateFailedError, match="Workflow update failed"):
                    await plan.handle.execute_update(spec.name, args=[], result_type=dict)
            else:
                await plan.handle.signal(spec.name, args=[])
        signals = [s.name for s in PLAN_MESSAGES if s.kind == "signal"]

        async def all_kept() -> None:
            history = (await plan.status())["history"]
            kept = [h["message"] for h in history if h["event"] == "unreadable-message" and "message" in h]
            assert sorted(kept) == sorted(signals)

        await eventually(all_kept)
        await _still_takes_a_visit(plan, env)


async def test_a_client_sending_bad_reports_in_a_loop_leaves_the_plan_small_and_running(env, db_url):
    """A day's unreadable messages past UNREADABLE_KEPT_A_DAY are counted, not kept one by one:
    the state a plan carries to its next run stays bounded however long a client loops."""
    from workflows.case import UNREADABLE_KEPT_A_DAY

    sent = UNREADABLE_KEPT_A_DAY + 15
    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        for _ in range(sent):
            await plan.handle.signal("report_death", {"date": "2099-01-01"})

        async def counted() -> None:
            history = (await plan.status())["history"]
            assert [h["event"] for h in history].count("unreadable-messages-counted") == 1
            kept = [h for h in history if h["event"] == "unreadable-message" and "message" in h]
            assert len(kept) == UNREADABLE_KEPT_A_DAY

        await eventually(counted)
        assert (await plan.status())["state"] == "active"
        await _still_takes_a_visit(plan, env)


async def test_a_report_sealed_with_a_key_the_worker_does_not_hold_is_kept_and_told(env, db_url):
    """Mid key rotation a case system may seal with a key the worker has not been given yet: the
    report is kept as unreadable (never its content), the team manager told, the plan runs on."""
    import dataclasses
    import os

    from temporalio.client import Client

    from worker.codec import EncryptionCodec, Keyring

    async with running_worker(env) as tq:
        plan = await _plan_three_days_old(env, tq)
        other_key = dataclasses.replace(
            env.client.data_converter, payload_codec=EncryptionCodec(Keyring([("kold", os.urandom(32))]))
        )
        sender = Client(env.client.service_client, namespace=env.client.namespace, data_converter=other_key)
        await sender.get_workflow_handle(plan.handle.id).signal("report_death", {"date": "2020-01-01"})

        await plan.told("alert", "tm-1")
        status = await plan.status()
        kept = [h for h in status["history"] if h["event"] == "unreadable-message" and "message" in h]
        assert [(h["message"], h["reason"]) for h in kept] == [
            ("report_death", "sealed with key id 'kold' which this worker does not hold")
        ]
        assert status["state"] == "active"
        await _still_takes_a_visit(plan, env)
