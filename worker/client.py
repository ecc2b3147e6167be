"""Connecting to Temporal: one place for the connection settings and the data converter.

Settings come from Temporal's own environment configuration (TOML profiles, `TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`, `TEMPORAL_PROFILE`), so the worker and
the `temporal` CLI read the same ones; explicit arguments (`--address`, `--namespace`) win.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig

from worker.codec import EncryptionCodec, load_keyring

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


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
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


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
    return await Client.connect(**connect_config(address, namespace), data_converter=data_converter())
