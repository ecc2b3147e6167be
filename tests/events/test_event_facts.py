"""The facts a case system hears, read from a plan's saved statuses (activities/event_facts.py):
what a save adds, under keys that never change, with opaque references and dates only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.event_facts import (
    MESSAGE_UNREADABLE,
    OBLIGATION_MET,
    OBLIGATION_OVERDUE,
    PLAN_ENDED,
    PLAN_ESCALATED,
    PLAN_STARTED,
    REVIEW_HELD,
    cloud_event,
    event_id,
    facts,
    new_facts,
)

AT = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)


def status(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "plan_id": "P-1",
        "child_ref": "C-1",
        "policy": "london",
        "conference_kind": "initial",
        "state": "active",
        "icpc_date": "2031-03-03",
        "lead_social_worker": "sw-1",
        "team_manager": "tm-1",
        "reviews_held": 0,
        "obligations": [
            {"id": "first-core-group", "kind": "first-core-group", "due": "2031-03-17", "status": "pending"},
            {"id": "visit-1", "kind": "visit", "due": "2031-03-17", "status": "pending"},
        ],
        "escalations": [],
        "history": [],
        "ended_on": None,
        "end_reason": None,
    }
    base.update(changes)
    return base


def ob(ident: str, state: str, due: str = "2031-03-17", **more: Any) -> dict[str, Any]:
    kind = "first-core-group" if ident == "first-core-group" else ident.rsplit("-", 1)[0]
    return {"id": ident, "kind": kind, "due": due, "status": state, **more}


def test_a_first_save_tells_the_plan_started_with_references_and_dates_only() -> None:
    [started] = new_facts("P-1", None, status(), AT)

    assert started.type == PLAN_STARTED
    assert started.key == "P-1:started" and started.time == AT
    assert started.data == {
        "plan_id": "P-1",
        "child_ref": "C-1",
        "policy": "london",
        "conference_kind": "initial",
        "icpc_date": "2031-03-03",
        "lead_social_worker": "sw-1",
        "team_manager": "tm-1",
    }


def test_a_save_tells_only_what_changed_since_the_last() -> None:
    before = status()
    after = status(
        obligations=[ob("first-core-group", "overdue"), ob("visit-1", "met", met_on="2031-03-12")],
        escalations=[
            {
                "kind": "overdue",
                "level": 1,
                "to": "tm-1",
                "at": "2031-03-18T09:00:00+00:00",
                "obligation_id": "first-core-group",
            }
        ],
    )

    found = {f.type: f for f in new_facts("P-1", before, after, AT + timedelta(days=8))}

    assert set(found) == {OBLIGATION_OVERDUE, OBLIGATION_MET, PLAN_ESCALATED}
    assert found[OBLIGATION_OVERDUE].key == "P-1:first-core-group:overdue"
    assert found[OBLIGATION_OVERDUE].data == {
        "plan_id": "P-1",
        "obligation_id": "first-core-group",
        "kind": "first-core-group",
        "due": "2031-03-17",
    }
    assert found[OBLIGATION_MET].data["met_on"] == "2031-03-12" and found[OBLIGATION_MET].data["late"] is False
    escalated = found[PLAN_ESCALATED]
    assert escalated.data == {
        "plan_id": "P-1",
        "kind": "overdue",
        "level": 1,
        "to": "tm-1",
        "obligation_id": "first-core-group",
    }
    assert escalated.time == datetime(2031, 3, 18, 9, 0, tzinfo=UTC)
    # The same status saved again (a retried save) brings nothing.
    assert new_facts("P-1", after, after, AT + timedelta(days=9)) == []


def test_an_obligation_escalated_once_its_date_passed_is_overdue_too_and_met_late_says_so() -> None:
    late = status(obligations=[ob("visit-1", "escalated", due="2031-03-05")])
    found = new_facts("P-1", status(), late, AT)
    assert [f.key for f in found] == ["P-1:visit-1:overdue"]

    # Escalated before its date (two visits without seeing the child): not overdue.
    early = status(obligations=[ob("visit-1", "escalated", due="2031-03-20")])
    assert new_facts("P-1", status(), early, AT) == []

    met_late = status(obligations=[ob("visit-1", "met-late", due="2031-03-05", met_on="2031-03-11")])
    [met] = new_facts("P-1", late, met_late, AT + timedelta(days=1))
    assert (met.type, met.data["late"], met.data["met_on"]) == (OBLIGATION_MET, True, "2031-03-11")


def test_reviews_held_ended_and_unreadable_messages() -> None:
    history = [
        {"at": "2031-06-01T10:00:00+00:00", "on": "2031-06-01", "event": "review-conference", "outcome": "inquorate"},
        {
            "at": "2031-06-05T10:00:00+00:00",
            "on": "2031-06-05",
            "event": "review-conference",
            "outcome": "end",
            "obligation_id": "review-1",
            "by": "tm-1",
        },
        {
            "at": "2031-06-06T08:00:00+00:00",
            "on": "2031-06-06",
            "event": "unreadable-message",
            "message": "report_incident",
            "reason": "sealed for another workflow",
        },
        {
            "at": "2031-06-06T08:00:00+00:00",
            "on": "2031-06-06",
            "event": "unreadable-message",
            "message": "report_incident",
            "reason": "sealed for another workflow",
        },
        # Who was told of it: the same event name, no message, not another unreadable message.
        {"at": "2031-06-06T08:00:00+00:00", "on": "2031-06-06", "event": "unreadable-message", "to": ["sw-1", "tm-1"]},
    ]
    after = status(
        reviews_held=1, state="ended", ended_on="2031-06-05", end_reason="ended at review conference", history=history
    )

    found = new_facts("P-1", status(), after, AT)

    by_type: dict[str, list[Any]] = {}
    for f in found:
        by_type.setdefault(f.type, []).append(f)
    [review] = by_type[REVIEW_HELD]
    assert review.key == "P-1:review:1"
    assert review.data == {
        "plan_id": "P-1",
        "number": 1,
        "held_on": "2031-06-05",
        "outcome": "end",
        "obligation_id": "review-1",
    }
    [ended] = by_type[PLAN_ENDED]
    assert ended.data == {"plan_id": "P-1", "ended_on": "2031-06-05", "end_reason": "ended at review conference"}
    # Two in the same moment are two events; neither carries the reason's words.
    unreadable = by_type[MESSAGE_UNREADABLE]
    assert len(unreadable) == 2 and len({f.key for f in unreadable}) == 2
    assert unreadable[0].data == {"plan_id": "P-1", "message": "report_incident", "received_on": "2031-06-06"}


def test_keys_and_ids_do_not_change_from_one_save_to_the_next() -> None:
    first = {f.key: f.event_id for f in facts("P-1", status(obligations=[ob("visit-1", "overdue")]), AT)}
    later = {
        f.key: f.event_id for f in facts("P-1", status(obligations=[ob("visit-1", "overdue")]), AT + timedelta(hours=5))
    }
    assert first == later
    assert event_id("P-1:started") == event_id("P-1:started") != event_id("P-2:started")
    # A plan id is the case system's text: the id never carries it into a header.
    assert event_id("P\r\n1:started").startswith("evt_") and event_id("P\r\n1:started").isalnum() is False
    assert all(c.isalnum() or c == "_" for c in event_id("P\r\n1:started"))


def test_the_cloud_event_names_its_type_source_subject_id_and_time(monkeypatch) -> None:
    monkeypatch.setenv("CPPLAN_EVENTS_SOURCE", "https://cpplan.example.gov.uk")
    [started] = facts("P-1", status(), AT)

    doc = json.loads(cloud_event("P-1", started))

    assert doc == {
        "specversion": "1.0",
        "id": started.event_id,
        "source": "https://cpplan.example.gov.uk",
        "type": "uk.gov.cpplan.plan.started",
        "subject": "P-1",
        "time": "2031-03-10T09:00:00Z",
        "datacontenttype": "application/json",
        "data": started.data,
    }
