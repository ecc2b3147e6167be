"""Payload encryption: every payload the Temporal server stores is AES-256-GCM ciphertext.

Children's data (dates, references, what practitioners record) lives in workflow inputs, update
payloads and results; the server and anyone reading its database see ciphertext only. Each
payload names the key that sealed it (`encryption-key-id`), so keys rotate: new payloads use
the first key, old ones still open with any key still listed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from worker.private_files import write_private_file

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
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


class EncryptionCodec(PayloadCodec):
    """Seals every payload with the keyring's current key. Decoding is strict: a payload that
    cannot be opened raises `Undecodable` (clients, the codec server). Plaintext passes through
    unchanged (written before encryption was on); the worker's codec (worker/lenient_codec.py)
    decides what to do with it."""

    holder = "process"

    def __init__(self, keyring: Keyring):
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self.keyring.current_id
        aes = AESGCM(self.keyring.key(kid))
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            sealed = nonce + aes.encrypt(nonce, payload.SerializeToString(), kid.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=sealed))
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
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, raw_kid)
        except InvalidTag:
            raise Undecodable(f"ciphertext does not open with key id {_shown(kid)} (damaged or altered)") from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise Undecodable("decrypted, but not a payload") from None


def is_sealed(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING
