"""`notify` through a real SMTP server: each key mailed once, failures sorted into retry or report."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities import outbox as store
from activities.db import get_engine
from activities.mail import message_id
from activities.notify import notify
from activities.read_model import list_outbox
from tests.activities.activity_test_support import make_notification, run_activity
from workflows.activity_io import NotifyBatch

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured


def batch_of(*keys: str, **extra: object) -> NotifyBatch:
    return NotifyBatch(plan_id="P-1", notifications=[make_notification(k, **extra) for k in keys])  # type: ignore[arg-type]


def states() -> dict[str, tuple[str, int]]:
    return {r["key"]: (r["state"], r["attempts"]) for r in list_outbox("P-1")}


async def test_sent_once_with_a_message_id_from_the_key(smtp) -> None:
    result = await run_activity(notify, batch_of("P-1:visit-1:reminder"))

    assert result.delivered == ["P-1:visit-1:reminder"]
    [mail] = smtp.collector.messages
    assert mail["Message-ID"] == message_id("P-1:visit-1:reminder")
    assert mail["Message-ID"] == message_id("P-1:visit-1:reminder")  # stable: same key, same id
    assert mail["To"] == "sw-1@example.org"
    assert mail["From"] == "cpplan@example.org"
    assert mail["Subject"] == "Statutory visit due (P-1:visit-1:reminder)"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "due on 2026-12-01" in mail.get_payload()
    row = list_outbox("P-1")[0]
    assert (row["state"], row["attempts"]) == ("sent", 1)
    assert row["sent_at"] is not None


async def test_the_same_batch_twice_sends_once(smtp) -> None:
    batch = batch_of("k-1", "k-2")

    first = await run_activity(notify, batch)
    second = await run_activity(notify, batch)

    assert first.delivered == second.delivered == ["k-1", "k-2"]
    assert len(smtp.collector.messages) == 2
    assert states() == {"k-1": ("sent", 1), "k-2": ("sent", 1)}


async def test_server_down_raises_then_a_retry_sends_each_once(smtp_down) -> None:
    batch = batch_of("k-1", "k-2")

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch)
    assert raised.value.type == "SmtpUnavailable"
    assert not raised.value.non_retryable
    assert states() == {"k-1": ("pending", 1), "k-2": ("pending", 0)}

    smtp_down.start()
    result = await run_activity(notify, batch)
    again = await run_activity(notify, batch)

    assert result.delivered == again.delivered == ["k-1", "k-2"]
    assert sorted(m["Message-ID"] for m in smtp_down.collector.messages) == sorted(
        [message_id("k-1"), message_id("k-2")]
    )
    assert states() == {"k-1": ("sent", 2), "k-2": ("sent", 1)}


async def test_a_deferral_mid_batch_keeps_the_earlier_sends(smtp) -> None:
    smtp.collector.defer.add("busy@example.org")
    batch = NotifyBatch(
        plan_id="P-1",
        notifications=[
            make_notification("k-1"),
            make_notification("k-2", to_email="busy@example.org"),
            make_notification("k-3"),
        ],
    )

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch)
    assert "451" in str(raised.value)
    assert [m["Message-ID"] for m in smtp.collector.messages] == [message_id("k-1")]

    smtp.collector.defer.clear()
    result = await run_activity(notify, batch)

    assert result.delivered == ["k-1", "k-2", "k-3"]
    assert [m["Message-ID"] for m in smtp.collector.messages] == [message_id(k) for k in ("k-1", "k-2", "k-3")]


async def test_a_refused_recipient_is_reported_not_raised(smtp) -> None:
    smtp.collector.refuse.add("gone@example.org")
    batch = NotifyBatch(
        plan_id="P-1",
        notifications=[make_notification("k-1", to_email="gone@example.org", to_id="hv-9"), make_notification("k-2")],
    )

    result = await run_activity(notify, batch)

    assert result.delivered == ["k-2"]
    [failure] = result.failed
    assert (failure.key, failure.to_id) == ("k-1", "hv-9")
    assert failure.reason.startswith("SMTP 550 recipient refused")
    assert "gone@example.org" not in failure.reason
    assert len(smtp.collector.messages) == 1
    row = {r["key"]: r for r in list_outbox("P-1")}["k-1"]
    assert row["state"] == "failed"
    assert row["last_error"] == failure.reason

    # A later attempt of the same batch reports it again and still sends nothing more.
    again = await run_activity(notify, batch)
    assert [f.key for f in again.failed] == ["k-1"]
    assert len(smtp.collector.messages) == 1


async def test_a_malformed_address_is_a_permanent_failure(smtp) -> None:
    result = await run_activity(notify, batch_of("k-1", to_email="not an address"))

    assert [f.reason for f in result.failed] == ["malformed e-mail address"]
    assert smtp.collector.messages == []


async def test_a_bad_smtp_url_is_a_retryable_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPPLAN_SMTP_URL", "http://user:secret@mail.example.org")

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch_of("k-1"))

    assert raised.value.type == "SmtpConfigError"
    assert not raised.value.non_retryable
    assert "secret" not in str(raised.value)
    assert list_outbox() == []


async def test_a_key_twice_in_one_batch_is_mailed_once(smtp) -> None:
    result = await run_activity(notify, batch_of("k-1", "k-1"))

    assert result.delivered == ["k-1", "k-1"]
    assert len(smtp.collector.messages) == 1


async def test_a_row_another_attempt_is_mailing_is_left_to_it(smtp) -> None:
    batch = batch_of("k-1")
    store.enqueue(get_engine(), batch.notifications)
    assert store.claim(get_engine(), "k-1")  # an overlapping attempt, still running

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch)

    assert raised.value.type == "NotificationBusy"
    assert smtp.collector.messages == []
    store.mark_sent(get_engine(), "k-1")  # the other attempt finishes
    assert (await run_activity(notify, batch)).delivered == ["k-1"]
    assert smtp.collector.messages == []
