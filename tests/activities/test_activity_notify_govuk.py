"""`notify` through GOV.UK Notify's API: the official client, pointed at the local stand-in over
HTTP (starters/notify_standin.py). Each message once under its reference, e-mail always and a
text message too when urgent, Notify's errors sorted into retry or report, and a message Notify
already has (a worker that died before its record) found, not sent again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.exceptions import ApplicationError

from activities import outbox as store
from activities.channels import reference
from activities.db import deliveries, get_engine
from activities.notify import notify
from activities.read_model import list_outbox
from starters.notify_standin import SAMPLE_KEY, StandIn, StandInServer
from tests.activities.activity_test_support import make_notification, run_activity
from workflows.activity_io import NotifyBatch

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured

TEMPLATES = {"REMINDER": "t-reminder", "ALERT": "t-alert", "SMS": "t-sms"}


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    server = StandInServer(StandIn(receipt_delay_s=60)).start()
    monkeypatch.setenv("CPPLAN_NOTIFY_API_KEY", SAMPLE_KEY)
    monkeypatch.setenv("CPPLAN_NOTIFY_BASE_URL", server.base_url)
    for kind, template in TEMPLATES.items():
        monkeypatch.setenv(f"CPPLAN_NOTIFY_TEMPLATE_{kind}", template)
    try:
        yield server.standin
    finally:
        server.stop()


def batch_of(*keys: str, **extra: object) -> NotifyBatch:
    return NotifyBatch(plan_id="P-1", notifications=[make_notification(k, **extra) for k in keys])  # type: ignore[arg-type]


def delivery_rows() -> dict[str, dict[str, object]]:
    with get_engine().connect() as conn:
        return {row.reference: dict(row._mapping) for row in conn.execute(deliveries.select())}


async def test_an_email_goes_once_under_its_reference_with_references_and_dates_only(standin: StandIn) -> None:
    batch = batch_of("P-1:visit-1:reminder:sw-1")

    assert (await run_activity(notify, batch)).delivered == ["P-1:visit-1:reminder:sw-1"]
    assert (await run_activity(notify, batch)).delivered == ["P-1:visit-1:reminder:sw-1"]

    [sent] = standin.messages
    ref = reference("P-1:visit-1:reminder:sw-1", "notify", "email")
    assert (sent["type"], sent["email_address"], sent["reference"]) == ("email", "sw-1@example.org", ref)
    assert sent["template"]["id"] == "t-reminder"
    fields = sent["personalisation"]
    assert set(fields) == {"plan_ref", "kind", "topic", "obligation_ref", "subject", "body", "sent_on", "message_ref"}
    assert (fields["plan_ref"], fields["obligation_ref"], fields["message_ref"]) == ("P-1", "visit-1", ref)
    row = delivery_rows()[ref]
    assert (row["state"], row["channel"], row["medium"], row["provider_id"]) == ("sent", "notify", "email", sent["id"])
    assert [r["state"] for r in list_outbox("P-1")] == ["sent"]


async def test_an_urgent_alert_goes_by_email_and_text_to_a_person_with_a_mobile(standin: StandIn) -> None:
    urgent = make_notification(
        "P-1:missing-1:sw-1", kind="alert", topic="missing", urgent=True, to_mobile="07700 900123"
    )
    plain = make_notification("P-1:letter-1:sw-1", kind="alert", to_mobile="07700 900123")

    await run_activity(notify, NotifyBatch(plan_id="P-1", notifications=[urgent, plain]))

    assert [(m["type"], m["template"]["id"]) for m in standin.messages] == [
        ("email", "t-alert"),
        ("sms", "t-sms"),
        ("email", "t-alert"),
    ]
    assert standin.messages[1]["phone_number"] == "07700 900123"


async def test_a_400_is_reported_not_retried(standin: StandIn) -> None:
    batch = batch_of("k-1", to_email="not-an-address@nowhere")

    result = await run_activity(notify, batch)

    [failure] = result.failed
    assert failure.reason.startswith("GOV.UK Notify 400")
    assert "nowhere" not in failure.reason
    assert [r["state"] for r in list_outbox("P-1")] == ["failed"]
    assert (await run_activity(notify, batch)).failed[0].key == "k-1"
    assert standin.messages == []


@pytest.mark.parametrize("code", [429, 500, 503])
async def test_a_rate_limit_or_server_error_is_retried_and_then_sent_once(standin: StandIn, code: int) -> None:
    standin.fail_next = [code]
    batch = batch_of("k-1")

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch)

    assert not raised.value.non_retryable and f"GOV.UK Notify {code}" in str(raised.value)
    assert [r["state"] for r in list_outbox("P-1")] == ["pending"]
    assert (await run_activity(notify, batch)).delivered == ["k-1"]
    assert len(standin.messages) == 1


async def test_a_wrong_key_is_a_retryable_configuration_error(standin: StandIn, monkeypatch) -> None:
    monkeypatch.setenv("CPPLAN_NOTIFY_API_KEY", SAMPLE_KEY[:-4] + "ffff")

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch_of("k-1"))

    assert raised.value.type == "ChannelConfigError" and not raised.value.non_retryable
    assert standin.messages == []


async def test_a_message_notify_already_has_is_found_not_sent_again(standin: StandIn) -> None:
    # A worker that died after Notify's 201 and before its own record: the delivery row was
    # marked as being sent, the outbox row still claimed by the dead attempt.
    batch = batch_of("k-1")
    n = batch.notifications[0]
    engine = get_engine()
    store.enqueue(engine, batch.notifications)
    assert store.claim(engine, "k-1")
    ref = reference("k-1", "notify", "email")
    store.delivery(engine, n, "notify", "email", ref)
    store.delivery_sending(engine, ref)
    standin.accept("email", {"email_address": n.to_email, "template_id": "t-reminder", "reference": ref})

    assert (await run_activity(notify, batch)).delivered == ["k-1"]

    assert len(standin.messages) == 1
    assert [r["state"] for r in list_outbox("P-1")] == ["sent"]
    assert delivery_rows()[ref]["provider_id"] == standin.messages[0]["id"]


async def test_a_claimed_message_notify_does_not_have_waits_for_its_claim(standin: StandIn) -> None:
    batch = batch_of("k-1")
    engine = get_engine()
    store.enqueue(engine, batch.notifications)
    assert store.claim(engine, "k-1")  # an overlapping attempt, still sending

    with pytest.raises(ApplicationError) as raised:
        await run_activity(notify, batch)

    assert raised.value.type == "NotificationBusy"
    assert standin.messages == []
