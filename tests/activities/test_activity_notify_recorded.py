"""`notify` without SMTP, or without an address: recorded in the outbox, never lost, never twice."""

from __future__ import annotations

import pytest

from activities.notify import notify
from activities.read_model import list_outbox
from tests.activities.activity_test_support import make_notification, run_activity
from workflows.activity_io import NotifyBatch

pytestmark = pytest.mark.all_databases  # SQLite, and PostgreSQL when configured


async def test_without_smtp_every_notification_is_recorded() -> None:
    batch = NotifyBatch(
        plan_id="P-1",
        notifications=[
            make_notification("P-1:visit-1:reminder"),
            make_notification("P-1:visit-1:esc-1", to_email=None),
        ],
    )

    result = await run_activity(notify, batch)

    assert result.delivered == ["P-1:visit-1:reminder", "P-1:visit-1:esc-1"]
    assert result.failed == []
    rows = {r["key"]: r for r in list_outbox("P-1", include_content=True)}
    assert {k: r["state"] for k, r in rows.items()} == {
        "P-1:visit-1:reminder": "recorded",
        "P-1:visit-1:esc-1": "recorded",
    }
    assert rows["P-1:visit-1:reminder"]["to_email"] == "sw-1@example.org"
    assert rows["P-1:visit-1:reminder"]["body"].startswith("The statutory visit")
    assert rows["P-1:visit-1:reminder"]["sent_at"] is None


async def test_a_key_already_in_the_outbox_is_not_added_again() -> None:
    first = make_notification("P-1:visit-1:reminder")
    await run_activity(notify, NotifyBatch(plan_id="P-1", notifications=[first]))
    again = make_notification("P-1:visit-1:reminder", subject="changed on replay")

    result = await run_activity(notify, NotifyBatch(plan_id="P-1", notifications=[again]))

    assert result.delivered == ["P-1:visit-1:reminder"]
    rows = list_outbox("P-1", include_content=True)
    assert len(rows) == 1
    assert rows[0]["subject"] == first.subject


async def test_no_email_address_is_recorded_even_with_smtp(smtp) -> None:
    result = await run_activity(
        notify, NotifyBatch(plan_id="P-1", notifications=[make_notification("k-1", to_email=None)])
    )

    assert result.delivered == ["k-1"]
    assert smtp.collector.messages == []
    assert list_outbox("P-1")[0]["state"] == "recorded"


async def test_listing_leaves_out_addresses_and_letters_unless_asked() -> None:
    await run_activity(notify, NotifyBatch(plan_id="P-1", notifications=[make_notification("k-1")]))

    row = list_outbox()[0]

    assert {"to_email", "subject", "body"}.isdisjoint(row)
    assert row["created_at"] == "2026-11-20T09:00:00+00:00"
