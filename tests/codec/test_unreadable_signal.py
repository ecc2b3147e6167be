"""On the time-skipping server: a signal sealed with a key the worker does not hold reaches the
handler as `Unreadable`, and the workflow task does not fail."""

from __future__ import annotations

import dataclasses
import os
import uuid

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.codec.signal_probe import SignalProbe
from tests.helpers import assert_no_failed_workflow_task, eventually, running_worker
from worker.codec import EncryptionCodec, Keyring


async def test_a_signal_sealed_with_an_unknown_key_id_arrives_as_unreadable(env: WorkflowEnvironment) -> None:
    async with running_worker(env, workflows=[SignalProbe], activities=[]) as task_queue:
        handle = await env.client.start_workflow(
            SignalProbe.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        # A second client on the same connection whose codec holds another key only (a sender
        # on a newer key than this worker, mid-rotation).
        other_keys = Keyring([("kelsewhere", os.urandom(32))])
        config = env.client.config()
        config["data_converter"] = dataclasses.replace(
            env.client.data_converter, payload_codec=EncryptionCodec(other_keys)
        )
        foreign = Client(**config)

        await foreign.get_workflow_handle(handle.id).signal("message", {"kind": "new-incident", "child": "c-77"})
        await handle.signal("message", {"kind": "new-incident"})

        async def both_seen() -> list[dict]:
            seen = await handle.query(SignalProbe.seen)
            assert len(seen) == 2
            return seen

        seen = await eventually(both_seen, timeout=30)
        await handle.result()

    assert seen == [
        {"unreadable": "sealed with key id 'kelsewhere' which this worker does not hold"},
        {"value": {"kind": "new-incident"}},
    ]
    await assert_no_failed_workflow_task(handle)
