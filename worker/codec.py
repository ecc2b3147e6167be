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

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
DEFAULT_KEY_FILE = Path(__file__).resolve().parent.parent / ".data" / "codec-keys.json"


class KeyError_(LookupError):
    """A payload sealed with a key this process does not hold."""


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

    def key(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise KeyError_(f"no key {kid!r} in this keyring (known: {', '.join(self._keys)})") from None

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
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = new_key_entry()
    token = secrets.token_urlsafe(24)
    path.write_text(json.dumps({"keys": entry, "codec_token": token}))
    path.chmod(0o600)
    return Keyring.parse(entry)


class EncryptionCodec(PayloadCodec):
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
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before encryption was on, or by the server itself
                continue
            kid = payload.metadata[KEY_ID].decode()
            nonce, sealed = payload.data[:12], payload.data[12:]
            plain = AESGCM(self.keyring.key(kid)).decrypt(nonce, sealed, kid.encode())
            out.append(Payload.FromString(plain))
        return out
