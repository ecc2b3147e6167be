"""A message payload that could not be read, as the workflow receives it.

The worker's data converter never fails a workflow task over a payload it cannot open (sealed
with a key this worker does not hold, bad ciphertext, plaintext where encryption is required,
bytes that are not JSON, sealed for another plan): it hands the handler an `Unreadable` instead,
naming why and never what it held. The plan records it as an unreadable message and tells a
person (workflows/plan.py); an update carrying one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# The encoding the lenient codec gives a payload it could not open; `reason` goes in the data.
UNDECODABLE_ENCODING = b"binary/cpplan-undecodable"
# Metadata the worker's codec puts on a payload it opened (worker/lenient_codec.py), for the
# message handlers (workflows/runtime.py): the message it was sealed as, or that it was sealed
# before payloads were bound to their message. Never taken from a payload as sent.
BOUND_TO = "cpplan-bound-to"
UNBOUND = "cpplan-unbound"


@dataclass(frozen=True)
class Unreadable:
    reason: str
