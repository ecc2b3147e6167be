"""A sealed payload is bound to its plan and its message. Copied from the server's history of one
plan and sent raw (no key needed: `temporal workflow signal` could do it) to another plan, or to
the same plan as another message, it is kept as an unreadable message, the lead social worker and
team manager are told, and the plan runs on: a death copied from elsewhere ends nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.converter import WorkflowSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.helpers import assert_no_failed_workflow_task, plan_doc, running_worker, start_plan_workflow
from tests.helpers.plan_scenario import Plan
from worker.client import worker_data_converter
from worker.codec import ENCODING, KEY_ID, NONCE_BYTES, EncryptionCodec
from worker.main import sandbox_runner
from workflows.calendar import local_date
from workflows.plan import ChildProtectionPlan
from workflows.runtime import BOUND_PAYLOADS_PATCH


async def _plan(env: WorkflowEnvironment, tq: str) -> Plan:
    today = local_date(await env.get_current_time())
    doc = plan_doc(icpc_date=(today - timedelta(days=3)).isoformat())
    plan = Plan(env, await start_plan_workflow(env.client, doc, task_queue=tq), doc["plan_id"])
    await plan.started()
    return plan


async def _stored(plan: Plan, message: str) -> Payload:
    """The payload of `message` (a signal or an accepted update) as the server stores it."""
    history = await plan.handle.fetch_history()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            if attrs.signal_name == message:
                return attrs.input.payloads[0]
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.input.name == message:
                return request.input.args.payloads[0]
    raise AssertionError(f"no {message} in the history of {plan.plan_id}")


def _raw_sender(env: WorkflowEnvironment) -> Client:
    """A client with no codec and no key: it sends the bytes it is given."""
    return Client(env.client.service_client, namespace=env.client.namespace)


async def _kept_as_unreadable(plan: Plan, message: str) -> str:
    await plan.told("alert", "tm-1")
    await plan.told("alert", "sw-1")
    status = await plan.status()
    kept = [h for h in status["history"] if h["event"] == "unreadable-message" and h.get("message") == message]
    assert len(kept) == 1, status["history"]
    assert status["state"] == "active", "a sealed payload moved from its place must not end the plan"
    assert not [h for h in status["history"] if h["event"] == "death"], status["history"]
    return str(kept[0]["reason"])


async def _read_answer(env: WorkflowEnvironment, plan: Plan, answer: RawValue) -> dict[str, Any]:
    """An update's answer is sealed for its plan (as `result`): the plan's own client reads it."""
    reader = env.client.data_converter.with_context(
        WorkflowSerializationContext(namespace=env.client.namespace, workflow_id=plan.handle.id)
    )
    [result] = await reader.decode([answer.payload], [dict])
    return dict(result)


def _replayer() -> Replayer:
    return Replayer(
        workflows=[ChildProtectionPlan], workflow_runner=sandbox_runner(), data_converter=worker_data_converter()
    )


async def _patches_asked(plan: Plan) -> list[str]:
    history = await plan.handle.fetch_history()
    found = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            if "patch-data" in details:
                found += await plan.env.client.data_converter.decode(details["patch-data"].payloads)
    return [value.get("id", "") for value in found if isinstance(value, dict)]


async def _still_takes_a_visit(plan: Plan, env: WorkflowEnvironment) -> None:
    today = local_date(await env.get_current_time())
    result = await plan.update("record_visit", {"date": today.isoformat(), "seen": True})
    assert result["statutory"] is True
    await assert_no_failed_workflow_task(plan.handle)


async def test_a_death_copied_from_one_plans_history_does_not_end_another(env, db_url) -> None:
    async with running_worker(env) as tq:
        first = await _plan(env, tq)
        other = await _plan(env, tq)
        today = local_date(await env.get_current_time())
        await first.signal("report_death", {"date": today.isoformat()})
        await first.told("alert", "sm-1")
        assert (await first.status())["state"] != "active", "the first plan's own death report ends it"

        sealed = await _stored(first, "report_death")
        assert sealed.metadata["encoding"] == b"binary/encrypted"
        await _raw_sender(env).get_workflow_handle(other.handle.id).signal("report_death", RawValue(sealed))

        reason = await _kept_as_unreadable(other, "report_death")
        assert "sealed for another plan" in reason
        await _still_takes_a_visit(other, env)


async def test_a_sealed_update_sent_as_a_death_is_kept_as_unreadable(env, db_url) -> None:
    async with running_worker(env) as tq:
        plan = await _plan(env, tq)
        today = local_date(await env.get_current_time()).isoformat()
        await plan.update("record_core_group", {"date": today})
        await plan.update("record_notes_circulated", {"date": today})
        sealed = await _stored(plan, "record_notes_circulated")

        raw = _raw_sender(env).get_workflow_handle(plan.handle.id)
        await raw.signal("report_death", RawValue(sealed))

        reason = await _kept_as_unreadable(plan, "report_death")
        assert "sealed as 'record_notes_circulated', sent as 'report_death'" in reason
        # As an update it is refused (the refusal is sealed: this sender cannot read why), and
        # the plan records that it came.
        try:
            await raw.execute_update("record_visit", RawValue(sealed), result_type=dict)
        except WorkflowUpdateFailedError:
            pass
        else:
            raise AssertionError("a sealed record_notes_circulated was accepted as record_visit")
        history = (await plan.status())["history"]
        assert [h["reason"] for h in history if h.get("message") == "record_visit"] == [
            "sealed as 'record_notes_circulated', sent as 'record_visit'; a payload is read only as the message it was sent as"
        ]
        await _still_takes_a_visit(plan, env)


async def test_the_same_payload_sent_again_as_itself_is_read(env, db_url) -> None:
    """The binding refuses only what moved: the stored payload, sent again to its own plan as its
    own message, is what it was (here a visit, taken twice)."""
    async with running_worker(env) as tq:
        plan = await _plan(env, tq)
        today = local_date(await env.get_current_time()).isoformat()
        await plan.update("record_visit", {"date": today, "seen": True, "again": True})
        sealed = await _stored(plan, "record_visit")
        raw = _raw_sender(env).get_workflow_handle(plan.handle.id)
        answer = await raw.execute_update("record_visit", RawValue(sealed), result_type=RawValue)
        assert (await _read_answer(env, plan, answer))["statutory"] is True
        await assert_no_failed_workflow_task(plan.handle)


def _sealed_before_binding(env: WorkflowEnvironment, value: dict[str, Any]) -> Payload:
    """`value` sealed as payloads were before they named their plan and message: the key id
    alone as associated data."""
    codec = env.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    kid = codec.keyring.current_id
    inner = env.client.data_converter.payload_converter.to_payloads([value])[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(codec.keyring.key(kid)).encrypt(nonce, inner.SerializeToString(), kid.encode())
    return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=sealed)


async def test_a_payload_sealed_before_binding_is_kept_as_unreadable_by_a_new_plan(env, db_url) -> None:
    async with running_worker(env) as tq:
        plan = await _plan(env, tq)
        today = local_date(await env.get_current_time()).isoformat()
        old = _sealed_before_binding(env, {"date": today})
        await _raw_sender(env).get_workflow_handle(plan.handle.id).signal("report_death", RawValue(old))

        reason = await _kept_as_unreadable(plan, "report_death")
        assert "sealed without naming its plan and message" in reason
        await _still_takes_a_visit(plan, env)
    # The run asked the patch when the payload came, and replays so.
    assert BOUND_PAYLOADS_PATCH in await _patches_asked(plan)
    assert (await _replayer().replay_workflow(await plan.handle.fetch_history())).replay_failure is None


async def test_while_unbound_payloads_are_accepted_one_is_read(env, db_url, monkeypatch) -> None:
    """CPPLAN_CODEC_ACCEPT_UNBOUND=1, while clients that seal without binding still send: their
    payloads are read as before."""
    monkeypatch.setenv("CPPLAN_CODEC_ACCEPT_UNBOUND", "1")
    async with running_worker(env) as tq:
        plan = await _plan(env, tq)
        today = local_date(await env.get_current_time()).isoformat()
        old = _sealed_before_binding(env, {"date": today, "seen": True})
        raw = _raw_sender(env).get_workflow_handle(plan.handle.id)
        answer = await raw.execute_update("record_visit", RawValue(old), result_type=RawValue)
        assert (await _read_answer(env, plan, answer))["statutory"] is True
        await assert_no_failed_workflow_task(plan.handle)
    # Switched off afterwards, the run still replays as it ran: it never asked the patch.
    monkeypatch.delenv("CPPLAN_CODEC_ACCEPT_UNBOUND")
    assert BOUND_PAYLOADS_PATCH not in await _patches_asked(plan)
    assert (await _replayer().replay_workflow(await plan.handle.fetch_history())).replay_failure is None
