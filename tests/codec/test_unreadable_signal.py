"""On the time-skipping server: a signal sealed with a key the worker does not hold, or sent
unencrypted while encryption is on, reaches the handler as `Unreadable`, and the workflow task
does not fail."""

from __future__ import annotations

import dataclasses
import os
import uuid

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.codec.signal_probe import SignalProbe
from tests.helpers import assert_no_failed_workflow_task, eventually, running_worker
from worker.codec import EncryptionCodec, Keyring


def client_with_codec(client: Client, codec: EncryptionCodec | None) -> Client:
    """A second client on the same connection with another codec (or none)."""
    config = client.config()
    config["data_converter"] = dataclasses.replace(client.data_converter, payload_codec=codec)
    return Client(**config)


async def test_signals_the_worker_cannot_open_arrive_as_unreadable(env: WorkflowEnvironment) -> None:
    async with running_worker(env, workflows=[SignalProbe], activities=[]) as task_queue:
        handle = await env.client.start_workflow(
            SignalProbe.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        # A sender on a key this worker does not hold (mid-rotation), and one without encryption.
        foreign = client_with_codec(env.client, EncryptionCodec(Keyring([("kelsewhere", os.urandom(32))])))
        plain = client_with_codec(env.client, None)

        await foreign.get_workflow_handle(handle.id).signal("message", {"kind": "new-incident", "child": "c-77"})
        await plain.get_workflow_handle(handle.id).signal("message", {"kind": "new-incident", "child": "c-78"})
        await handle.signal("message", {"kind": "new-incident"})

        async def both_seen() -> list[dict]:
            seen = await handle.query(SignalProbe.seen)
            assert len(seen) == 3
            return seen

        seen = await eventually(both_seen, timeout=30)
        await handle.result()

    assert seen == [
        {"unreadable": "sealed with key id 'kelsewhere' which this worker does not hold"},
        {"unreadable": "arrived unencrypted; encryption is required"},
        {"value": {"kind": "new-incident"}},
    ]
    await assert_no_failed_workflow_task(handle)
