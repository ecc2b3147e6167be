"""The worker's codec and payload converter: a payload it cannot open or read becomes
`Unreadable` where no type is asked for, and still raises where one is; clients stay strict."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from worker.client import data_converter, worker_data_converter
from worker.codec import ENCODING, KEY_ID, EncryptionCodec, Keyring, Undecodable, UnknownKeyId
from worker.lenient_codec import PLAINTEXT_REFUSED, LenientEncryptionCodec
from worker.unreadable_converter import LenientPayloadConverter, UnreadablePayloadError
from workflows.activity_io import PlanContext
from workflows.unreadable import UNDECODABLE_ENCODING, Unreadable

CHILD = "c-secret-ref-4711"


def keyring(kid: str) -> Keyring:
    return Keyring([(kid, os.urandom(32))])


def json_payload(text: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text)


async def sealed(kid: str, value: Any = None) -> Payload:
    inner = data_converter().payload_converter.to_payloads([value if value is not None else {"child": CHILD}])
    return (await EncryptionCodec(keyring(kid)).encode(inner))[0]


async def decode_one(codec: EncryptionCodec, payload: Payload) -> Payload:
    return (await codec.decode([payload]))[0]


def reason_of(payload: Payload) -> str:
    assert payload.metadata["encoding"] == UNDECODABLE_ENCODING
    return payload.data.decode()


async def test_an_unknown_key_id_is_named_and_nothing_else() -> None:
    payload = await sealed("kold")

    marked = await decode_one(LenientEncryptionCodec(keyring("knew")), payload)

    assert reason_of(marked) == "sealed with key id 'kold' which this worker does not hold"


async def test_the_strict_codec_still_raises_for_an_unknown_key() -> None:
    with pytest.raises(UnknownKeyId, match="'kold'"):
        await decode_one(EncryptionCodec(keyring("knew")), await sealed("kold"))


async def test_damaged_ciphertext_is_marked_without_its_content() -> None:
    ring = keyring("k1")
    good = (await EncryptionCodec(ring).encode(data_converter().payload_converter.to_payloads([CHILD])))[0]
    damaged = Payload()
    damaged.CopyFrom(good)
    damaged.data = good.data[:-1] + bytes([good.data[-1] ^ 1])

    reason = reason_of(await decode_one(LenientEncryptionCodec(ring), damaged))

    assert reason == "ciphertext does not open with key id 'k1' (damaged or altered)"
    with pytest.raises(Undecodable):
        await decode_one(EncryptionCodec(ring), damaged)


@pytest.mark.parametrize(
    ("metadata", "data", "expected"),
    [
        ({"encoding": ENCODING}, b"x" * 40, "encrypted but names no key id"),
        ({"encoding": ENCODING, KEY_ID: b"k1"}, b"short", "ciphertext too short to have been sealed with key id 'k1'"),
    ],
)
async def test_malformed_sealed_payloads_are_marked(metadata: dict[str, bytes], data: bytes, expected: str) -> None:
    marked = await decode_one(LenientEncryptionCodec(keyring("k1")), Payload(metadata=metadata, data=data))
    assert reason_of(marked) == expected


async def test_sealed_bytes_that_are_not_a_payload_are_marked() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = os.urandom(32)
    nonce = os.urandom(12)
    # A truncated protobuf varint: the key opens it, but it is no Payload.
    sealed_junk = nonce + AESGCM(key).encrypt(nonce, b"\x0a\xff", b"k1")
    payload = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k1"}, data=sealed_junk)

    marked = await decode_one(LenientEncryptionCodec(Keyring([("k1", key)])), payload)

    assert reason_of(marked) == "decrypted, but not a payload"


async def test_a_long_key_id_is_cut_short_in_the_reason() -> None:
    payload = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k" * 5000}, data=b"x" * 40)
    reason = reason_of(await decode_one(LenientEncryptionCodec(keyring("k1")), payload))
    assert len(reason) < 120


async def test_plaintext_is_refused_unless_accepted_for_a_migration() -> None:
    plain = json_payload(b'{"child": "%s"}' % CHILD.encode())

    refused = await decode_one(LenientEncryptionCodec(keyring("k1")), plain)
    accepted = await decode_one(LenientEncryptionCodec(keyring("k1"), accept_plaintext=True), plain)

    assert reason_of(refused) == PLAINTEXT_REFUSED == "arrived unencrypted; encryption is required"
    assert accepted == plain
    assert await decode_one(EncryptionCodec(keyring("k1")), plain) == plain  # clients: as before


def test_the_accept_plaintext_setting_reaches_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _worker_codec().accept_plaintext
    monkeypatch.setenv("CPPLAN_CODEC_ACCEPT_PLAINTEXT", "1")
    assert _worker_codec().accept_plaintext


def _worker_codec() -> LenientEncryptionCodec:
    codec = worker_data_converter().payload_codec
    assert isinstance(codec, LenientEncryptionCodec)
    return codec


async def test_a_sealed_value_still_opens() -> None:
    ring = keyring("k1")
    converter = worker_data_converter(data_converter())
    payload = (await EncryptionCodec(ring).encode(converter.payload_converter.to_payloads([{"a": 1}])))[0]
    opened = await decode_one(LenientEncryptionCodec(ring), payload)
    assert converter.payload_converter.from_payloads([opened]) == [{"a": 1}]


def test_the_marker_becomes_unreadable_when_no_type_is_asked() -> None:
    converter = LenientPayloadConverter()
    marker = Payload(metadata={"encoding": UNDECODABLE_ENCODING}, data=b"sealed with key id 'kold'")

    assert converter.from_payloads([marker]) == [Unreadable("sealed with key id 'kold'")]
    assert converter.from_payloads([marker], [Any]) == [Unreadable("sealed with key id 'kold'")]


def test_the_marker_raises_where_a_specific_type_is_needed() -> None:
    converter = LenientPayloadConverter()
    marker = Payload(metadata={"encoding": UNDECODABLE_ENCODING}, data=b"sealed with key id 'kold'")

    with pytest.raises(RuntimeError) as raised:
        converter.from_payloads([marker], [PlanContext])
    assert isinstance(raised.value.__cause__, UnreadablePayloadError)
    assert "kold" in str(raised.value.__cause__)


def test_bytes_that_are_not_json_become_unreadable_only_without_a_type() -> None:
    converter = LenientPayloadConverter()
    broken = json_payload(b'{"child": "' + CHILD.encode())

    [value] = converter.from_payloads([broken])

    assert value == Unreadable("not valid JSON")
    assert CHILD not in value.reason
    with pytest.raises(Exception):  # noqa: B017 - pydantic's own error, as before
        converter.from_payloads([broken], [PlanContext])


def test_an_unknown_encoding_becomes_unreadable_without_a_type() -> None:
    payload = Payload(metadata={"encoding": b"text/x-mystery"}, data=CHILD.encode())
    assert LenientPayloadConverter().from_payloads([payload]) == [Unreadable("not readable as 'text/x-mystery'")]


def test_good_and_bad_payloads_in_one_call_keep_their_places() -> None:
    converter = LenientPayloadConverter()
    good = converter.to_payloads([{"kind": "new-incident"}])[0]
    bad = json_payload(b"{")

    assert converter.from_payloads([good, bad, good]) == [
        {"kind": "new-incident"},
        Unreadable("not valid JSON"),
        {"kind": "new-incident"},
    ]


def test_every_converter_shares_one_set_of_encoding_converters() -> None:
    # The SDK makes a payload converter per data converter, two per workflow activation: each
    # must reuse the encoding converters (and their cache of pydantic type adapters), and
    # still read the marker first.
    first, second = LenientPayloadConverter(), LenientPayloadConverter()

    assert list(first.converters) == list(second.converters)
    assert list(first.converters)[0] == UNDECODABLE_ENCODING
    assert all(a is b for a, b in zip(first.converters.values(), second.converters.values(), strict=True))


def test_unreadable_is_never_written_as_the_marker() -> None:
    # A workflow may keep an Unreadable in its state or pass it on: it is plain JSON then.
    [payload] = LenientPayloadConverter().to_payloads([Unreadable("why")])
    assert payload.metadata["encoding"] == b"json/plain"


def test_the_worker_converter_derives_from_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    client_side = data_converter()
    worker_side = worker_data_converter(client_side)

    assert type(client_side.payload_codec) is EncryptionCodec  # the CLI and codec server stay strict
    assert isinstance(worker_side.payload_codec, LenientEncryptionCodec)
    assert worker_side.payload_codec.keyring is client_side.payload_codec.keyring
    assert worker_side.payload_converter_class is LenientPayloadConverter
    assert worker_side.failure_converter_class is client_side.failure_converter_class

    monkeypatch.setenv("CPPLAN_CODEC", "off")
    unencrypted: DataConverter = worker_data_converter()
    assert unencrypted.payload_codec is None
    assert unencrypted.payload_converter_class is LenientPayloadConverter


def test_keys_parse_as_configured() -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    assert Keyring.parse(f"ka:{key}").current_id == "ka"
