"""A notification that was not delivered (workflows/plan_rules/deliveries.py): recorded on the
plan, and the next person up told at once, by the other channel, never twice; a report that is
not about this plan's notification to that person is kept as unreadable."""

from __future__ import annotations

from typing import Any

from tests.helpers.engine_plans import at, new_plan
from workflows.engine import PlanEngine

NOW = at("2026-11-25", 11)


def failure(key: str, to: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "to": to, "status": "permanent-failure", "date": "2026-11-25", **extra}


def told(plan: PlanEngine) -> list[tuple[str, str, bool, list[str]]]:
    out = [(n.to_id, n.topic or "", n.urgent, list(n.avoid)) for n in plan.state.outbox]
    plan.state.outbox.clear()
    return out


def not_delivered(plan: PlanEngine) -> list[dict[str, Any]]:
    return [h.detail for h in plan.state.history if h.event == "notification-not-delivered"]


def test_each_person_up_the_line_is_told_when_the_one_below_was_not() -> None:
    plan = new_plan(senior_manager={"id": "cpm-1", "role": "senior-manager", "email": "cpm-1@example.org"})
    plan.state.outbox.clear()
    plan.record_delivery_failure(failure("p-1:visit-1:reminder:sw-1", "sw-1"), NOW)
    assert told(plan) == [("tm-1", "not-told", False, ["notify"])]
    plan.record_delivery_failure(failure("p-1:not-told-1:tm-1", "tm-1"), NOW)
    assert told(plan) == [("sm-1", "not-told", False, ["notify"])]
    plan.record_delivery_failure(failure("p-1:not-told-2:sm-1", "sm-1", channel="smtp"), NOW)
    assert told(plan) == [("cpm-1", "not-told", False, ["smtp"])]
    plan.record_delivery_failure(failure("p-1:not-told-3:cpm-1", "cpm-1"), NOW)
    assert told(plan) == []  # nobody above: recorded only
    assert [(d["to"], d.get("told")) for d in not_delivered(plan)] == [
        ("sw-1", "tm-1"),
        ("tm-1", "sm-1"),
        ("sm-1", "cpm-1"),
        ("cpm-1", None),
    ]


def test_a_core_group_members_message_goes_to_the_lead_social_worker_and_urgency_carries() -> None:
    plan = new_plan()
    plan.state.outbox.clear()
    plan.record_delivery_failure(failure("p-1:letter-1:hv-1", "hv-1"), NOW)
    assert told(plan) == [("sw-1", "not-told", False, ["notify"])]
    plan.record_delivery_failure(failure("p-1:missing-1:sw-1", "sw-1", medium="sms"), NOW)
    assert told(plan) == [("tm-1", "not-told", True, ["notify"])]


def test_a_receipt_twice_tells_nobody_twice() -> None:
    plan = new_plan()
    plan.state.outbox.clear()
    plan.record_delivery_failure(failure("p-1:letter-1:hv-1", "hv-1"), NOW)
    plan.record_delivery_failure(failure("p-1:letter-1:hv-1", "hv-1"), NOW)
    assert len(told(plan)) == 1 and len(not_delivered(plan)) == 1
    # The same notification's text message is another failure.
    plan.record_delivery_failure(failure("p-1:letter-1:hv-1", "hv-1", medium="sms"), NOW)
    assert len(told(plan)) == 1 and len(not_delivered(plan)) == 2


def test_a_report_about_another_plan_or_person_is_kept_as_unreadable() -> None:
    plan = new_plan()
    plan.state.outbox.clear()
    for bad in (
        failure("p-2:letter-1:hv-1", "hv-1"),
        failure("p-1:letter-1:hv-1", "sw-1"),
        failure("p-1::sw-1", "sw-1") | {"key": "p-1:sw-1"},
        failure("p-1:letter-1:hv-1", "hv-1", status="delivered"),
        failure("p-1:letter-1:hv-1", "hv-1", date="2099-01-01"),
    ):
        plan.record_delivery_failure(bad, NOW)
    assert not_delivered(plan) == []
    kept = [h.detail for h in plan.state.history if h.detail.get("message") == "record_delivery_failure"]
    assert len(kept) == 5
    assert {n.topic for n in plan.state.outbox} == {"unreadable-message"}
