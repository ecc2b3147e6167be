"""Connecting to Temporal: one place for the connection settings and the data converter.

Settings come from Temporal's own environment configuration (TOML profiles, `TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, `TEMPORAL_PROFILE`), so the worker and
the `temporal` CLI read the same ones; explicit arguments (`--address`, `--namespace`) win.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, SerializationContext
from temporalio.envconfig import ClientConfig

from worker.binding import client_interceptors
from worker.codec import EncryptionCodec, load_keyring
from worker.lenient_codec import LenientEncryptionCodec, accept_plaintext, accept_unbound
from worker.unreadable_converter import LenientPayloadConverter

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


@dataclasses.dataclass(frozen=True)
class SealingDataConverter(DataConverter):
    """A data converter whose codec is bound to a serialization context (worker/codec.py).

    The SDK asks for the converter of a context at every workflow activation and for each
    activity command, and `DataConverter.with_context` builds a new one each time the codec
    changes with the context: a new payload converter and failure converter, about 0.1 ms. The
    result depends on the context alone (they are immutable values), so recent ones are kept."""

    def with_context(self, context: SerializationContext) -> SealingDataConverter:
        return _in_context(self, context)


@functools.lru_cache(maxsize=1024)
def _in_context(converter: SealingDataConverter, context: SerializationContext) -> SealingDataConverter:
    return DataConverter.with_context(converter, context)


class NoEncryptionKey(RuntimeError):
    """No payload key configured: refusing to send children's data to the server in clear."""


def data_converter() -> DataConverter:
    """Pydantic models in and out of every payload, every payload AES-GCM encrypted (the
    worker, the command line, the replayer and the codec server all build it here), and
    failure messages encoded too, so refusals and errors never reach the server in clear.

    Keys come from CPPLAN_CODEC_KEYS or the local key file `cpplan dev` creates on first run.
    CPPLAN_CODEC=off turns encryption off (a server whose storage is already private).
    """
    if os.environ.get("CPPLAN_CODEC", "").lower() == "off":
        return pydantic_data_converter
    keyring = load_keyring()
    if keyring is None:
        raise NoEncryptionKey(
            "no payload encryption key: set CPPLAN_CODEC_KEYS (kid:base64key), or run `cpplan dev` once "
            "to create a local key, or CPPLAN_CODEC=off"
        )
    return SealingDataConverter(
        payload_converter_class=pydantic_data_converter.payload_converter_class,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def worker_data_converter(base: DataConverter | None = None) -> DataConverter:
    """The worker's version of `base` (default `data_converter()`): a payload it cannot open or
    read (a key it does not hold, damaged ciphertext, plaintext while encryption is on, bytes
    that are not JSON) reaches a handler that asks for no particular type as
    `workflows.unreadable.Unreadable` instead of failing the workflow task, which would stop
    the plan. Clients, the replayer of tests and the codec server keep the strict converter.
    """
    base = base or data_converter()
    codec = base.payload_codec
    if isinstance(codec, EncryptionCodec) and not isinstance(codec, LenientEncryptionCodec):
        codec = LenientEncryptionCodec(
            codec.keyring, accept_plaintext=accept_plaintext(), accept_unbound=accept_unbound()
        )
    converter_class = base.payload_converter_class
    if issubclass(converter_class, PydanticPayloadConverter):
        converter_class = LenientPayloadConverter
    return dataclasses.replace(base, payload_codec=codec, payload_converter_class=converter_class)


def worker_client(client: Client) -> Client:
    """`client` with the worker's data converter, sharing its connection."""
    if isinstance(client.data_converter.payload_converter, LenientPayloadConverter):
        return client
    config = client.config()
    config["data_converter"] = worker_data_converter(client.data_converter)
    return Client(**config)


def connect_config(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`, without the data converter."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    return await Client.connect(**client_options(address, namespace))


def client_options(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Everything `Client.connect` needs: connection settings, the data converter, and the
    interceptor that names each message a payload is sealed for (worker/binding.py)."""
    return {**connect_config(address, namespace), **sealing_options()}


def sealing_options() -> dict[str, Any]:
    """The data converter and interceptors of every cpplan client (also for a test server's
    client: `WorkflowEnvironment.start_*(..., **sealing_options())`)."""
    return {"data_converter": data_converter(), "interceptors": client_interceptors()}
