"""Logs name plans, keys and people by reference only: never an address, a subject or a body."""

from __future__ import annotations

import json
import logging

import pytest
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError

import worker.logging as worker_logging
from activities.notify import notify
from tests.activities.activity_test_support import make_notification, run_activity
from workflows.activity_io import NotifyBatch

SECRETS = ("gone@example.org", "busy@example.org", "sw-1@example.org", "Statutory visit due", "due on 2026-12-01")


def mixed_batch() -> NotifyBatch:
    """One of each outcome: sent, refused (the server echoes the address), and deferred."""
    return NotifyBatch(
        plan_id="P-1",
        notifications=[
            make_notification("k-sent"),
            make_notification("k-refused", to_email="gone@example.org", to_id="hv-9"),
            make_notification("k-deferred", to_email="busy@example.org", to_id="gp-3"),
        ],
    )


async def run_mixed_batch(smtp) -> ApplicationError:
    smtp.collector.refuse.add("gone@example.org")
    smtp.collector.defer.add("busy@example.org")
    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, mixed_batch())
    return raised.value


async def test_log_events_carry_references_only(smtp) -> None:
    with capture_logs() as events:
        error = await run_mixed_batch(smtp)

    assert {e["key"] for e in events} == {"k-sent", "k-refused", "k-deferred"}
    for event in events:
        assert {"plan_id", "key", "kind", "to_id", "to_role"} <= set(event)
    text = repr(events) + str(error)
    for secret in SECRETS:
        assert secret not in text


async def test_recorded_notifications_log_no_content() -> None:
    with capture_logs() as events:
        await run_activity(notify, NotifyBatch(plan_id="P-1", notifications=[make_notification("k-1")]))

    assert [e["event"] for e in events] == ["notification recorded"]
    assert not any(secret in repr(events) for secret in SECRETS)


@pytest.fixture
def json_logging(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    monkeypatch.setenv("CPPLAN_LOG_FORMAT", "json")
    worker_logging.configure_logging(force=True)


async def test_production_logs_are_json_lines_without_addresses(smtp, json_logging, capsys) -> None:
    await run_mixed_batch(smtp)

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert {line["event"] for line in lines} >= {
        "notification sent",
        "notification refused",
        "notification deferred; the activity will be retried",
    }
    assert all(line["logger"] == "cpplan.notify" and "timestamp" in line for line in lines)
    refused = next(line for line in lines if line["key"] == "k-refused")
    assert refused["reason"].startswith("SMTP 550 recipient refused")
    for secret in SECRETS:
        assert all(secret not in json.dumps(line) for line in lines)


def test_configure_logging_is_idempotent(json_logging) -> None:
    worker_logging.configure_logging()
    worker_logging.configure_logging()

    assert len([h for h in logging.getLogger().handlers if h.get_name() == "cpplan"]) == 1


def test_the_log_safety_net_redacts_addresses_in_foreign_messages(json_logging, capsys) -> None:
    logging.getLogger("some.library").warning("could not reach someone@example.org")

    [line] = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert line["event"] == "could not reach <address>"
    assert line["logger"] == "some.library"
