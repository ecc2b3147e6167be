"""`worker.client`: connection settings from Temporal's envconfig, explicit arguments first."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter

from worker.client import connect_config, data_converter


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text('[profile.default]\naddress = "file-host:7233"\nnamespace = "file-ns"\n', encoding="utf-8")
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_profile_file_is_read(config_file: Path) -> None:
    assert connect_config() == {"target_host": "file-host:7233", "namespace": "file-ns"}


def test_environment_overrides_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "env-host:7233")
    monkeypatch.setenv("TEMPORAL_API_KEY", "k")

    config = connect_config()

    assert (config["target_host"], config["namespace"]) == ("env-host:7233", "file-ns")
    assert config["tls"] is True  # an API key implies TLS


def test_explicit_arguments_win(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "env-host:7233")

    assert connect_config("cli-host:7233", "cli-ns") == {"target_host": "cli-host:7233", "namespace": "cli-ns"}


def test_defaults_without_any_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    assert connect_config() == {"target_host": "localhost:7233", "namespace": "default"}


def test_payloads_use_the_pydantic_converter() -> None:
    # Whatever codec wraps them, payloads are pydantic JSON: the activities take and return models.
    assert data_converter().payload_converter_class is pydantic_data_converter.payload_converter_class
