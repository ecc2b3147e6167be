"""Payload encryption: every payload the Temporal server stores is AES-256-GCM ciphertext.

Children's data (dates, references, what practitioners record) lives in workflow inputs, update
payloads and results; the server and anyone reading its database see ciphertext only. Each
payload names the key that sealed it (`encryption-key-id`), so keys rotate: new payloads use
the first key, old ones still open with any key still listed.

Each payload is also bound to its place: the workflow it was sealed for and the message it was
sent as (a signal, update or query name; `input` for a start; `result` for whatever a worker
writes: results, activities' inputs, the state carried into a plan's next run). Both are named in
its metadata (`sealed-for-workflow`, `sealed-for-message`: opaque references, like the workflow
id itself) and in AES-GCM's associated data with the key id, so none of the three can be changed
without the payload failing to open. Opening checks the workflow against the serialization
context the SDK gives the codec (temporalio's `WithSerializationContext`: the target workflow's
id on a client's start, signal, update and query, the workflow's own id in a worker's
activations and activities); the message is checked by the workflow's handler, which alone
knows which message it is handling (workflows/runtime.py). A payload sealed before binding
existed (associated data: the key id alone) still opens; the worker decides what it may do
(worker/lenient_codec.py).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import secrets
from collections.abc import Sequence
from contextvars import ContextVar
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from activities.private_files import write_private_file

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
SEALED_FOR_WORKFLOW = "sealed-for-workflow"
SEALED_FOR_MESSAGE = "sealed-for-message"
BINDING_VERSION = "cpplan-bound-v1"
START_INPUT = "input"
WRITTEN_BY_WORKER = "result"
# The message a client is sending, set around the SDK call that seals it (worker/binding.py);
# unset, a payload is bound as a worker's `result`, which no message handler accepts.
SENDING: ContextVar[str | None] = ContextVar("cpplan_sending_message", default=None)
NONCE_BYTES = 12
TAG_BYTES = 16  # AES-GCM's authentication tag, at the end of the ciphertext
DEFAULT_KEY_FILE = Path(__file__).resolve().parent.parent / ".data" / "codec-keys.json"


class Undecodable(ValueError):
    """A payload this process cannot open. The message says why and never quotes the payload:
    it may reach a log, a workflow's history or the codec server's answer."""


class UnknownKeyId(Undecodable, LookupError):
    """A payload sealed with a key this process does not hold (mid key-rotation, or another system's)."""


def _shown(kid: str) -> str:
    # A key id comes from the payload's metadata, which anyone who can write to the server
    # controls: shown short, so a reason stays a reason.
    return repr(kid if len(kid) <= 40 else kid[:40] + "...")


class Keyring:
    """Key id → 32-byte key; the first is the one new payloads are sealed with."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        for kid, key in keys:
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
        self.current_id = keys[0][0]
        self._keys = dict(keys)

    def key(self, kid: str, holder: str = "process") -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise UnknownKeyId(f"sealed with key id {_shown(kid)} which this {holder} does not hold") from None

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`kid:base64key,kid2:base64key` (the form of CPPLAN_CODEC_KEYS)."""
        keys = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            kid, _, b64 = item.partition(":")
            keys.append((kid, base64.b64decode(b64)))
        return cls(keys)

    def serialise(self) -> str:
        return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in self._keys.items())


def new_key_entry() -> str:
    return f"k{secrets.token_hex(4)}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def key_file() -> Path:
    return Path(os.environ.get("CPPLAN_CODEC_KEY_FILE", DEFAULT_KEY_FILE))


def load_keyring() -> Keyring | None:
    """CPPLAN_CODEC_KEYS, else the local key file; None when neither exists."""
    text = os.environ.get("CPPLAN_CODEC_KEYS")
    if text:
        return Keyring.parse(text)
    path = key_file()
    if path.exists():
        return Keyring.parse(json.loads(path.read_text())["keys"])
    return None


def ensure_local_keyring() -> Keyring:
    """The local development key, generated on first run (never used when keys are configured)."""
    found = load_keyring()
    if found:
        return found
    entry = new_key_entry()
    if write_private_file(key_file(), json.dumps({"keys": entry, "codec_token": secrets.token_urlsafe(24)})):
        return Keyring.parse(entry)
    found = load_keyring()  # another process created it between our look and our write
    if found is None:
        raise RuntimeError(f"the key file {key_file()} vanished as it was created")
    return found


def bound_data(workflow_id: str, message: str, kid: str) -> bytes:
    """AES-GCM's associated data for a payload bound to `workflow_id` and `message`: JSON, so
    no choice of the three parts can be read as another."""
    return json.dumps([BINDING_VERSION, workflow_id, message, kid], separators=(",", ":")).encode()


def context_workflow_id(context: SerializationContext | None) -> str | None:
    """The workflow a payload is being sealed for or opened in, where the SDK says."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        return context.workflow_id or None
    return None


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """Seals every payload with the keyring's current key, bound to the workflow of the SDK's
    serialization context and the message being sent (`SENDING`). Decoding is strict: a payload
    that cannot be opened, or that was sealed for another workflow than the context's, raises
    `Undecodable` (clients, the codec server). Plaintext passes through unchanged (written before
    encryption was on); the worker's codec (worker/lenient_codec.py) decides what to do with it.

    `with_context` is called for every workflow activation, activity and client call: it makes
    a shallow copy, nothing more."""

    holder = "process"
    workflow_id: str | None = None

    def __init__(self, keyring: Keyring):
        self.keyring = keyring

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        workflow_id = context_workflow_id(context)
        if workflow_id == self.workflow_id:
            return self
        bound = copy.copy(self)
        bound.workflow_id = workflow_id
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.seal(payloads, self.workflow_id or "", SENDING.get() or WRITTEN_BY_WORKER)

    def seal(self, payloads: Sequence[Payload], workflow_id: str, message: str) -> list[Payload]:
        kid = self.keyring.current_id
        aes = AESGCM(self.keyring.key(kid))
        aad = bound_data(workflow_id, message, kid)
        metadata = {
            "encoding": ENCODING,
            KEY_ID: kid.encode(),
            SEALED_FOR_WORKFLOW: workflow_id.encode(),
            SEALED_FOR_MESSAGE: message.encode(),
        }
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = nonce + aes.encrypt(nonce, payload.SerializeToString(), aad)
            out.append(Payload(metadata=metadata, data=sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(payload) if is_sealed(payload) else payload for payload in payloads]

    def open(self, payload: Payload) -> Payload:
        """The payload `payload` seals; `Undecodable` naming why when it cannot be opened."""
        raw_kid = payload.metadata.get(KEY_ID)
        if not raw_kid:
            raise Undecodable("encrypted but names no key id")
        kid = raw_kid.decode("utf-8", "replace")
        key = self.keyring.key(kid, self.holder)
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise Undecodable(f"ciphertext too short to have been sealed with key id {_shown(kid)}")
        binding = sealed_for(payload)
        aad = raw_kid if binding is None else bound_data(binding[0], binding[1], kid)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise Undecodable(f"ciphertext does not open with key id {_shown(kid)} (damaged or altered)") from None
        if binding is not None and self.workflow_id is not None and binding[0] != self.workflow_id:
            raise Undecodable("sealed for another plan's workflow; a payload opens only where it was sent")
        try:
            opened = Payload.FromString(plain)
        except DecodeError:
            raise Undecodable("decrypted, but not a payload") from None
        return self.mark(opened, binding)

    def mark(self, opened: Payload, binding: tuple[str, str] | None) -> Payload:
        """Hook: what the opened payload carries on about its binding (worker/lenient_codec.py)."""
        return opened


def is_sealed(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def sealed_for(payload: Payload) -> tuple[str, str] | None:
    """The (workflow id, message) a sealed payload says it is bound to; None if it was sealed
    before binding existed. Only trustworthy once the payload has opened: both are in the
    associated data."""
    message = payload.metadata.get(SEALED_FOR_MESSAGE)
    if message is None:
        return None
    workflow_id = payload.metadata.get(SEALED_FOR_WORKFLOW, b"")
    return workflow_id.decode("utf-8", "replace"), message.decode("utf-8", "replace")
