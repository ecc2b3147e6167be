"""The worker's codec: a payload it cannot open becomes a marked payload, never an exception.

The SDK decodes every payload of a workflow activation before the workflow sees any of it; a
codec that raises fails the whole workflow task, which the server retries for ever, so one bad
signal would stop a plan. Here such a payload becomes `Payload(encoding=UNDECODABLE_ENCODING,
data=reason)`, which the payload converter (worker/unreadable_converter.py) hands a handler
as `Unreadable(reason)`. The reason names what went wrong, never what the payload held.

With encryption on, plaintext is refused the same way: only this system's own (sealed) payloads
are trusted. CPPLAN_CODEC_ACCEPT_PLAINTEXT=1 lets plaintext through while histories written
before encryption was switched on are still open. Search attributes and headers are not
decoded by the SDK at all, so the server's own plaintext never reaches this codec.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload

from worker.codec import EncryptionCodec, Keyring, Undecodable, is_sealed
from workflows.unreadable import UNDECODABLE_ENCODING

PLAINTEXT_REFUSED = "arrived unencrypted; encryption is required"


def accept_plaintext() -> bool:
    return os.environ.get("CPPLAN_CODEC_ACCEPT_PLAINTEXT", "").strip().lower() in ("1", "true", "yes")


def undecodable(reason: str) -> Payload:
    return Payload(metadata={"encoding": UNDECODABLE_ENCODING}, data=reason.encode())


class LenientEncryptionCodec(EncryptionCodec):
    holder = "worker"

    def __init__(self, keyring: Keyring, *, accept_plaintext: bool = False):
        super().__init__(keyring)
        self.accept_plaintext = accept_plaintext

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open_or_mark(payload) for payload in payloads]

    def open_or_mark(self, payload: Payload) -> Payload:
        if not is_sealed(payload):
            return payload if self.accept_plaintext else undecodable(PLAINTEXT_REFUSED)
        try:
            return self.open(payload)
        except Undecodable as err:
            return undecodable(str(err))
