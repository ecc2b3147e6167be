"""The codec binds each payload to its workflow and message: what the worker's codec opens, what
it keeps as unreadable, and the marks it leaves for the message handlers."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from worker.binding import sending
from worker.codec import (
    ENCODING,
    KEY_ID,
    NONCE_BYTES,
    SEALED_FOR_MESSAGE,
    SEALED_FOR_WORKFLOW,
    EncryptionCodec,
    Keyring,
)
from worker.codec_server import ENCODED_HERE
from worker.lenient_codec import LenientEncryptionCodec
from workflows.unreadable import BOUND_TO, UNBOUND, UNDECODABLE_ENCODING

KEYRING = Keyring([("k1", os.urandom(32))])
INNER = Payload(metadata={"encoding": b"json/plain"}, data=b'{"date": "2026-12-01"}')


def in_workflow(codec: EncryptionCodec, workflow_id: str) -> EncryptionCodec:
    return codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id=workflow_id))


async def sealed_by_client(workflow_id: str, message: str) -> Payload:
    codec = in_workflow(EncryptionCodec(KEYRING), workflow_id)
    [payload] = await sending(message, lambda: codec.encode([INNER]))
    return payload


def before_binding() -> Payload:
    nonce = os.urandom(NONCE_BYTES)
    data = nonce + AESGCM(KEYRING.key("k1")).encrypt(nonce, INNER.SerializeToString(), b"k1")
    return Payload(metadata={"encoding": ENCODING, KEY_ID: b"k1"}, data=data)


async def test_a_client_seals_for_the_workflow_and_message_it_sends_to() -> None:
    payload = await sealed_by_client("plan-a", "report_death")
    assert payload.metadata[SEALED_FOR_WORKFLOW] == b"plan-a"
    assert payload.metadata[SEALED_FOR_MESSAGE] == b"report_death"
    [opened] = await in_workflow(LenientEncryptionCodec(KEYRING), "plan-a").decode([payload])
    assert opened.data == INNER.data
    assert opened.metadata[BOUND_TO] == b"report_death"


async def test_without_a_message_named_a_payload_is_bound_as_a_result() -> None:
    [payload] = await in_workflow(EncryptionCodec(KEYRING), "plan-a").encode([INNER])
    assert payload.metadata[SEALED_FOR_MESSAGE] == b"result"


async def test_another_workflows_payload_is_kept_as_unreadable() -> None:
    payload = await sealed_by_client("plan-a", "report_death")
    [opened] = await in_workflow(LenientEncryptionCodec(KEYRING), "plan-b").decode([payload])
    assert opened.metadata["encoding"] == UNDECODABLE_ENCODING
    assert opened.data == b"sealed for another plan's workflow; a payload opens only where it was sent"


async def test_an_activity_of_the_workflow_opens_its_payloads() -> None:
    payload = await sealed_by_client("plan-a", "result")
    context = ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type="notify",
        activity_task_queue="q",
        workflow_id="plan-a",
        workflow_type="ChildProtectionPlan",
        is_local=False,
    )
    [opened] = await LenientEncryptionCodec(KEYRING).with_context(context).decode([payload])
    assert opened.data == INNER.data


async def test_what_the_codec_server_seals_opens_in_no_plan() -> None:
    [payload] = EncryptionCodec(KEYRING).seal([INNER], "", ENCODED_HERE)
    [opened] = await in_workflow(LenientEncryptionCodec(KEYRING), "plan-a").decode([payload])
    assert opened.metadata["encoding"] == UNDECODABLE_ENCODING


async def test_a_changed_binding_does_not_open() -> None:
    payload = await sealed_by_client("plan-a", "record_notes_circulated")
    payload.metadata[SEALED_FOR_MESSAGE] = b"report_death"
    [opened] = await in_workflow(LenientEncryptionCodec(KEYRING), "plan-a").decode([payload])
    assert opened.metadata["encoding"] == UNDECODABLE_ENCODING
    assert b"damaged or altered" in opened.data


async def test_a_payload_sealed_before_binding_opens_marked_unless_accepted() -> None:
    [marked] = await in_workflow(LenientEncryptionCodec(KEYRING), "plan-a").decode([before_binding()])
    assert marked.data == INNER.data and marked.metadata[UNBOUND] == b"1"
    window = LenientEncryptionCodec(KEYRING, accept_unbound=True)
    [taken] = await in_workflow(window, "plan-a").decode([before_binding()])
    assert UNBOUND not in taken.metadata and BOUND_TO not in taken.metadata
    # A client reading an old history opens it as before.
    [read] = await in_workflow(EncryptionCodec(KEYRING), "plan-a").decode([before_binding()])
    assert read.data == INNER.data


async def test_a_plaintext_sender_cannot_forge_the_marks() -> None:
    forged = Payload(metadata={"encoding": b"json/plain", BOUND_TO: b"report_death"}, data=INNER.data)
    codec = in_workflow(LenientEncryptionCodec(KEYRING, accept_plaintext=True), "plan-a")
    [passed] = await codec.decode([forged])
    assert BOUND_TO not in passed.metadata
