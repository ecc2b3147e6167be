"""The worker's codec: a payload it cannot open becomes a marked payload, never an exception.

The SDK decodes every payload of a workflow activation before the workflow sees any of it; a
codec that raises fails the whole workflow task, which the server retries for ever, so one bad
signal would stop a plan. Here such a payload becomes `Payload(encoding=UNDECODABLE_ENCODING,
data=reason)`, which the payload converter (worker/unreadable_converter.py) hands a handler
as `Unreadable(reason)`. The reason names what went wrong, never what the payload held. A
payload sealed for another workflow than the activation's is one of these.

With encryption on, plaintext is refused the same way: only this system's own (sealed) payloads
are trusted. CPPLAN_CODEC_ACCEPT_PLAINTEXT=1 lets plaintext through while histories written
before encryption was switched on are still open. Search attributes and headers are not
decoded by the SDK at all, so the server's own plaintext never reaches this codec.

A payload it opens tells the message handlers (workflows/runtime.py) where it was bound: the
message it was sealed as (`BOUND_TO`), or, sealed before binding existed, `UNBOUND`, which a
plan started since keeps as unreadable (the `bound-payloads` patch).
CPPLAN_CODEC_ACCEPT_UNBOUND=1 leaves that mark off, so such payloads are taken as before, while
clients that seal without binding are still sending.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload

from worker.codec import EncryptionCodec, Keyring, Undecodable, is_sealed
from workflows.unreadable import BOUND_TO, UNBOUND, UNDECODABLE_ENCODING

PLAINTEXT_REFUSED = "arrived unencrypted; encryption is required"


def _setting(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def accept_plaintext() -> bool:
    return _setting("CPPLAN_CODEC_ACCEPT_PLAINTEXT")


def accept_unbound() -> bool:
    return _setting("CPPLAN_CODEC_ACCEPT_UNBOUND")


def undecodable(reason: str) -> Payload:
    return Payload(metadata={"encoding": UNDECODABLE_ENCODING}, data=reason.encode())


def unmarked(payload: Payload) -> Payload:
    """`payload` without the marks only this codec gives (a plaintext sender could forge them)."""
    if BOUND_TO not in payload.metadata and UNBOUND not in payload.metadata:
        return payload
    clean = Payload()
    clean.CopyFrom(payload)
    for key in (BOUND_TO, UNBOUND):
        if key in clean.metadata:
            del clean.metadata[key]
    return clean


class LenientEncryptionCodec(EncryptionCodec):
    holder = "worker"

    def __init__(self, keyring: Keyring, *, accept_plaintext: bool = False, accept_unbound: bool = False):
        super().__init__(keyring)
        self.accept_plaintext = accept_plaintext
        self.accept_unbound = accept_unbound

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open_or_mark(payload) for payload in payloads]

    def open_or_mark(self, payload: Payload) -> Payload:
        if not is_sealed(payload):
            return unmarked(payload) if self.accept_plaintext else undecodable(PLAINTEXT_REFUSED)
        try:
            return self.open(payload)
        except Undecodable as err:
            return undecodable(str(err))

    def mark(self, opened: Payload, binding: tuple[str, str] | None) -> Payload:
        opened = unmarked(opened)
        if binding is not None:
            opened.metadata[BOUND_TO] = binding[1].encode()
        elif not self.accept_unbound:
            opened.metadata[UNBOUND] = b"1"
        return opened
