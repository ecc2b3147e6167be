"""The worker's payload converter: what it cannot read becomes `Unreadable`, where allowed.

A handler that asks for no particular type (`*args: Any`, a parameter hinted `Any` or without
a hint) receives `workflows.unreadable.Unreadable(reason)` for a payload the worker's codec
could not open (worker/lenient_codec.py) and for bytes that are not what their encoding says
(JSON that does not parse, an unknown encoding). Where a specific type is asked for (an
activity's result, a typed update), it raises as the SDK's own converter does: the workflow
cannot go on without that value, and the failed task says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import EncodingPayloadConverter

from workflows.unreadable import UNDECODABLE_ENCODING, Unreadable


class UnreadablePayloadError(RuntimeError):
    """A payload the worker could not open, where the code needs a value of a specific type."""


def wants_any(type_hint: Any) -> bool:
    return type_hint is None or type_hint is Any


def _shown(encoding: bytes) -> str:
    text = encoding.decode("utf-8", "replace")
    return repr(text if len(text) <= 40 else text[:40] + "...")


def reason_for(payload: Payload) -> str:
    """Why `payload` could not be converted, from its metadata only (never its data)."""
    encoding = payload.metadata.get("encoding")
    if encoding is None:
        return "no encoding named"
    if encoding == b"json/plain":
        return "not valid JSON"
    return f"not readable as {_shown(encoding)}"


class UndecodablePayloadConverter(EncodingPayloadConverter):
    """Reads the marker the lenient codec leaves; never writes one."""

    @property
    def encoding(self) -> str:
        return UNDECODABLE_ENCODING.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        reason = payload.data.decode("utf-8", "replace")
        if wants_any(type_hint):
            return Unreadable(reason)
        raise UnreadablePayloadError(f"payload could not be opened: {reason}")


class LenientPayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON like the clients', plus the marker above; no-type payloads never raise.

    The SDK builds a new payload converter from this class twice in every workflow activation
    (one per data converter it makes for the activation's serialization context), which built
    a new set of encoding converters each time, each with an empty cache of pydantic type
    adapters: about a tenth of a replayed plan's worker time. The encoding converters hold no
    state but that (thread-safe) cache and take no serialization context, so every instance
    in the process shares one set, made by the first."""

    _shared: ClassVar[list[EncodingPayloadConverter]] = []

    def __init__(self) -> None:
        shared = LenientPayloadConverter._shared
        if not shared:
            super().__init__()
            shared[:] = [UndecodablePayloadConverter(), *self.converters.values()]
        self._set_converters(*shared)

    def from_payloads(self, payloads: Sequence[Payload], type_hints: list[type] | None = None) -> list[Any]:
        hints = list(type_hints or [])
        hints += [None] * (len(payloads) - len(hints))  # type: ignore[list-item]
        if not any(wants_any(hint) for hint in hints):
            return super().from_payloads(payloads, type_hints)
        values = []
        for payload, hint in zip(payloads, hints, strict=False):
            if not wants_any(hint):
                values.extend(super().from_payloads([payload], [hint]))
                continue
            try:
                values.extend(super().from_payloads([payload], None))
            except Exception:
                values.append(Unreadable(reason_for(payload)))
        return values
