"""Complaints about a conference (002 'Child Protection Conference Complaints') on the pure
rules, no server: each clock as a practitioner states it, what is refused, and who is told."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.engine_plans import at
from workflows import models as m
from workflows.calendar import WorkingCalendar, non_working_days
from workflows.complaint_rules import ComplaintEngine, ComplaintStart, NoComplaintsProcedure, complaint_workflow_id
from workflows.policy import get_profile


def complaint_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "complaint_id": "cc-1",
        "plan_id": "p-1",
        "policy": "darlington",
        "received_date": "2027-01-11",
        "complainant_ref": "cmp-1",
        "service_manager": {"id": "sm-1", "email": "sm-1@example.org"},
        "scrutineer": {"id": "scr-1"},
        "aspect": "decision",
    }
    doc.update(overrides)
    return doc


def new_complaint(policy: str = "darlington", now: str = "2027-01-11", **overrides: Any) -> ComplaintEngine:
    profile = get_profile(policy)
    cal = WorkingCalendar(non_working_days(profile.region, 2026, 2028, profile.closure_days))
    start = m.parse(ComplaintStart, complaint_doc(policy=policy, **overrides))
    return ComplaintEngine.begin(start, profile, cal, at(now, 11))


def ob(c: ComplaintEngine, ident: str, now: str = "2027-01-11", hour: int = 12) -> dict[str, Any]:
    return next(o for o in c.status(at(now, hour)).as_json()["obligations"] if o["id"] == ident)


def sent(c: ComplaintEngine) -> list[tuple[str, str, str | None]]:
    """(kind, to, obligation) of every notification in the outbox, then empties it."""
    out = [(n.kind, n.to_id, n.obligation_id) for n in c.state.outbox]
    c.state.outbox.clear()
    return out


def at_stage_two() -> ComplaintEngine:
    c = new_complaint()
    c.record_response({"date": "2027-01-22"}, at("2027-01-22", 15))
    c.escalate_to_scrutineer({"date": "2027-02-01"}, at("2027-02-01", 10))
    sent(c)
    return c


def test_the_service_manager_responds_within_10_working_days_reminded_then_escalated():
    # Received Mon 11 Jan 2027 → response due Mon 25 Jan.
    c = new_complaint()
    assert complaint_workflow_id("cc-1") == "cp-complaint-cc-1"
    assert ob(c, "service-manager-response")["due"] == "2027-01-25"
    # The service manager is told of the complaint and its clock at once.
    assert sent(c) == [("letter", "sm-1", "service-manager-response")]
    # Reminder 2 working days before, Thu 21 Jan at 09:00.
    c.fire(at("2027-01-21", 8, 59))
    assert sent(c) == []
    c.fire(at("2027-01-21", 9))
    assert sent(c) == [("reminder", "sm-1", "service-manager-response")]
    # Overdue once the 25th has passed; the Independent Scrutineer told Tue 26 Jan at 09:00.
    assert ob(c, "service-manager-response", "2027-01-25", 17)["status"] == "pending"
    assert ob(c, "service-manager-response", "2027-01-26", 8)["status"] == "overdue"
    c.fire(at("2027-01-26", 8, 59))
    assert sent(c) == []
    c.fire(at("2027-01-26", 9))
    assert sent(c) == [("escalation", "scr-1", "service-manager-response")]
    assert ob(c, "service-manager-response", "2027-01-26")["status"] == "escalated"
    # Still nothing 5 working days later: the safeguarding partnership, Tue 2 Feb.
    c.fire(at("2027-02-01", 17))
    assert sent(c) == []
    c.fire(at("2027-02-02", 9))
    assert sent(c) == [("escalation", "darlington-safeguarding-partnership", "service-manager-response")]
    assert [(e.level, e.to) for e in c.state.escalations] == [(1, "scr-1"), (2, "darlington-safeguarding-partnership")]
    assert c.next_wakeup() is None
    # A response recorded late is met late; the complainant decides next.
    result = c.record_response({"date": "2027-02-03"}, at("2027-02-03", 10))
    assert result["status"] == "met-late" and result["stage"] == "service-manager"
    assert c.status(at("2027-02-03")).as_json()["waiting_for"].startswith("the complainant")


def test_notification_keys_are_complaint_obligation_action_person():
    c = new_complaint()
    c.fire(at("2027-01-21", 9))
    c.fire(at("2027-01-26", 9))
    keys = [n.key for n in c.state.outbox]
    assert keys == [
        "cc-1:service-manager-response:opened:sm-1",
        "cc-1:service-manager-response:reminder:sm-1",
        "cc-1:service-manager-response:escalation-1:scr-1",
    ]
    reminder = c.state.outbox[1]
    assert (
        reminder.plan_id == "p-1" and reminder.to_role == "service-manager" and reminder.to_email == "sm-1@example.org"
    )
    assert "[cpplan complaint cc-1]" in reminder.subject and "cmp-1" in reminder.body
    assert c.state.outbox[2].to_role == "partnership"


def test_satisfied_after_the_response_closes_the_complaint():
    c = new_complaint()
    c.record_response({"date": "2027-01-20"}, at("2027-01-20", 15))
    result = c.close({"date": "2027-01-22", "reason_ref": "res-7"}, at("2027-01-22", 10))
    assert result["reason"] == "resolved after the service manager's response"
    status = c.status(at("2027-01-22", 10)).as_json()
    assert status["state"] == "closed" and status["stage"] == "service-manager" and status["closed_on"] == "2027-01-22"
    assert [(o["id"], o["status"], o["met_on"]) for o in status["obligations"]] == [
        ("service-manager-response", "met", "2027-01-20")
    ]
    assert status["history"][-1]["event"] == "complaint-closed" and status["history"][-1]["reason_ref"] == "res-7"
    assert c.finished and c.next_wakeup() is None
    with pytest.raises(m.Refusal, match=r"\(complaint\): the complaint was closed on 2027-01-22"):
        c.escalate_to_scrutineer({"date": "2027-01-22"}, at("2027-01-22", 11))


def test_the_scrutineer_acknowledges_considers_and_responds_from_receipt():
    # Forwarded Mon 1 Feb 2027: acknowledged by 8 Feb, considered by 22 Feb, written response by 15 Mar.
    c = new_complaint()
    c.record_response({"date": "2027-01-22"}, at("2027-01-22", 15))
    sent(c)
    result = c.escalate_to_scrutineer({"date": "2027-02-01"}, at("2027-02-01", 10))
    assert result == {
        "stage": "scrutineer",
        "acknowledgement_due": "2027-02-08",
        "consideration_due": "2027-02-22",
        "written_response_due": "2027-03-15",
    }
    assert sent(c) == [("letter", "scr-1", "acknowledgement")]
    # Reminders go to the scrutineer; overdue steps go to the service manager.
    c.fire(at("2027-02-04", 9))
    assert sent(c) == [("reminder", "scr-1", "acknowledgement")]
    c.fire(at("2027-02-09", 9))
    assert sent(c) == [("escalation", "sm-1", "acknowledgement")]
    c.record_acknowledgement({"date": "2027-02-09"}, at("2027-02-09", 11))
    c.record_consideration({"date": "2027-02-17"}, at("2027-02-17", 11))
    c.fire(at("2027-02-18", 9))  # met: its reminder (18 Feb, 09:00) is not sent
    assert sent(c) == []
    c.fire(at("2027-03-11", 9))
    assert sent(c) == [("reminder", "scr-1", "written-response")]
    written = c.record_written_response({"date": "2027-03-12"}, at("2027-03-12", 11))
    assert written["status"] == "met" and "request_appeal" in written["next"]
    by_id = {o["id"]: o for o in c.status(at("2027-03-12", 12)).as_json()["obligations"]}
    assert {k: (o["status"], o["responsible"]) for k, o in by_id.items()} == {
        "service-manager-response": ("met", "sm-1"),
        "acknowledgement": ("met-late", "scr-1"),
        "consideration": ("met", "scr-1"),
        "written-response": ("met", "scr-1"),
    }


def test_the_appeal_meets_within_20_working_days_and_its_outcome_ends_the_procedure():
    c = at_stage_two()
    c.record_acknowledgement({"date": "2027-02-03"}, at("2027-02-03", 11))
    c.record_consideration({"date": "2027-02-17"}, at("2027-02-17", 11))
    c.record_written_response({"date": "2027-03-12"}, at("2027-03-12", 11))
    # Written notification Tue 16 Mar 2027 → meeting by Thu 15 Apr (Good Friday and Easter Monday skipped).
    result = c.request_appeal({"date": "2027-03-16"}, at("2027-03-16", 11))
    assert result == {"stage": "appeal", "appeal_meeting_due": "2027-04-15"}
    assert sent(c) == [("letter", "scr-1", "appeal-meeting")]
    c.fire(at("2027-04-13", 9))
    assert sent(c) == [("reminder", "scr-1", "appeal-meeting")]
    c.fire(at("2027-04-16", 9))
    assert sent(c) == [("escalation", "sm-1", "appeal-meeting")]
    # Met Tue 13 Apr... recorded on the 16th: outcome within 5 working days, Tue 20 Apr.
    meeting = c.record_appeal_meeting({"date": "2027-04-13"}, at("2027-04-16", 11))
    assert meeting["appeal_outcome_due"] == "2027-04-20" and meeting["status"] == "met"
    outcome = c.record_appeal_outcome({"date": "2027-04-19"}, at("2027-04-19", 11))
    assert outcome["state"] == "closed" and "Ombudsman" in outcome["beyond"]
    # The subcommittee reports the outcome to the partnership.
    assert sent(c) == [("letter", "darlington-safeguarding-partnership", "appeal-outcome")]
    status = c.status(at("2027-04-19", 12)).as_json()
    assert (
        status["state"] == "closed"
        and status["stage"] == "appeal"
        and status["close_reason"] == "appeal procedure ended"
    )
    assert [o["id"] for o in status["obligations"]] == [
        "service-manager-response",
        "acknowledgement",
        "consideration",
        "written-response",
        "appeal-meeting",
        "appeal-outcome",
    ]
    assert c.finished


def test_closing_mid_stage_drops_the_open_clocks():
    c = at_stage_two()
    c.close({"date": "2027-02-02"}, at("2027-02-02", 11))
    status = c.status(at("2027-02-02", 12)).as_json()
    assert status["close_reason"] == "closed at the scrutineer stage"
    assert [o["id"] for o in status["obligations"]] == ["service-manager-response"]
    assert status["history"][-1]["closed"] == ["acknowledgement", "consideration", "written-response"]
    assert c.next_wakeup() is None


# Asked on Wed 3 Feb 2027, the complaint forwarded to the scrutineer on Mon 1 Feb.
REFUSALS = [
    ("record_acknowledgement", {"date": "2027-02-04"}, "date: 2027-02-04 is in the future"),
    (
        "record_acknowledgement",
        {"date": "2027-01-29"},
        "date: 2027-01-29 is before the scrutineer received the complaint (2027-02-01)",
    ),
    ("record_acknowledgement", {"date": "3 Feb 2027"}, "date: Input should be a valid date"),
    ("record_acknowledgement", {"date": "2027-02-02", "note": "x"}, "note: Extra inputs are not permitted"),
    ("record_consideration", {"date": "2027-02-02"}, "the acknowledgement is not recorded yet"),
    ("record_written_response", {"date": "2027-02-02"}, "the consideration of the documents is not recorded yet"),
    ("request_appeal", {"date": "2027-02-02"}, "the scrutineer's written response is not recorded yet"),
    ("record_appeal_meeting", {"date": "2027-02-02"}, "the complaint is at the scrutineer stage"),
    ("record_appeal_outcome", {"date": "2027-02-02"}, "the complaint is at the scrutineer stage"),
    ("record_response", {"date": "2027-02-02"}, "the complaint is at the scrutineer stage"),
    ("escalate_to_scrutineer", {"date": "2027-02-02"}, "the complaint is at the scrutineer stage"),
    (
        "close",
        {"date": "2027-01-29"},
        "date: 2027-01-29 is before the last thing recorded on the complaint (2027-02-01)",
    ),
    ("close", {"date": "2027-02-02", "reason_ref": "a@b.org"}, "reason_ref: must be an opaque reference"),
]


@pytest.mark.parametrize(
    ("name", "payload", "reason"), REFUSALS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REFUSALS)]
)
def test_bad_messages_are_refused_naming_the_field_and_change_nothing(name, payload, reason):
    c = at_stage_two()
    now = at("2027-02-03", 11)
    before = c.status(now).as_json()
    for apply in (False, True):
        with pytest.raises(m.Refusal) as err:
            getattr(c, name)(payload, now, apply=apply)
        assert reason in str(err.value)
    assert c.status(now).as_json() == before and c.state.outbox == []


def test_stage_one_refusals_in_order():
    c = new_complaint()
    now = at("2027-01-15", 11)
    with pytest.raises(m.Refusal, match=r"date: 2027-01-18 is in the future"):
        c.record_response({"date": "2027-01-18"}, now)
    with pytest.raises(m.Refusal, match=r"date: 2027-01-08 is before the complaint was received \(2027-01-11\)"):
        c.record_response({"date": "2027-01-08"}, now)
    with pytest.raises(m.Refusal, match=r"record_response first"):
        c.escalate_to_scrutineer({"date": "2027-01-14"}, now)
    c.record_response({"date": "2027-01-14"}, now)
    with pytest.raises(m.Refusal, match=r"already recorded on 2027-01-14"):
        c.record_response({"date": "2027-01-14"}, now)
    with pytest.raises(m.Refusal, match=r"date: 2027-01-13 is before the service manager's response \(2027-01-14\)"):
        c.escalate_to_scrutineer({"date": "2027-01-13"}, now)
    assert c.escalate_to_scrutineer({"date": "2027-01-14"}, now)["acknowledgement_due"] == "2027-01-21"


def test_appeal_steps_in_order():
    c = at_stage_two()
    c.record_acknowledgement({"date": "2027-02-01"}, at("2027-02-01", 12))
    c.record_consideration({"date": "2027-02-01"}, at("2027-02-01", 12))  # the same day is in order
    with pytest.raises(
        m.Refusal, match=r"date: 2027-01-29 is before the consideration of the documents \(2027-02-01\)"
    ):
        c.record_written_response({"date": "2027-01-29"}, at("2027-02-05", 12))
    c.record_written_response({"date": "2027-02-05"}, at("2027-02-05", 12))
    with pytest.raises(m.Refusal, match=r"date: 2027-02-04 is before the scrutineer's written response \(2027-02-05\)"):
        c.request_appeal({"date": "2027-02-04"}, at("2027-02-08", 12))
    c.request_appeal({"date": "2027-02-08"}, at("2027-02-08", 12))
    with pytest.raises(m.Refusal, match=r"the appeal meeting is not recorded yet"):
        c.record_appeal_outcome({"date": "2027-02-09"}, at("2027-02-09", 12))
    with pytest.raises(m.Refusal, match=r"date: 2027-02-05 is before the appeal was requested \(2027-02-08\)"):
        c.record_appeal_meeting({"date": "2027-02-05"}, at("2027-02-09", 12))
    c.record_appeal_meeting({"date": "2027-02-09"}, at("2027-02-09", 12))
    with pytest.raises(m.Refusal, match=r"date: 2027-02-08 is before the appeal meeting \(2027-02-09\)"):
        c.record_appeal_outcome({"date": "2027-02-08"}, at("2027-02-10", 12))


def test_invalid_starts():
    with pytest.raises(m.Refusal, match=r"received_date: 2027-01-12 is in the future"):
        new_complaint(received_date="2027-01-12")
    with pytest.raises(m.Refusal) as err:
        m.parse(ComplaintStart, complaint_doc(aspect="chair", complainant_ref="jo@example.org", plan_id=""))
    fields = {f for f, _ in err.value.problems}
    assert {"aspect", "complainant_ref", "plan_id"} <= fields
    with pytest.raises(m.Refusal, match="scrutineer: must be someone other than the service manager"):
        m.parse(ComplaintStart, complaint_doc(scrutineer={"id": "sm-1"}))


def test_a_profile_without_a_complaints_rule_has_no_procedure():
    with pytest.raises(NoComplaintsProcedure, match="'london' has no complaints procedure"):
        new_complaint("london")


def test_the_complaint_status_keeps_its_fields_and_their_order():
    c = at_stage_two()
    status = c.status(at("2027-02-02", 12)).as_json()
    assert list(status) == [
        "complaint_id",
        "plan_id",
        "policy",
        "complainant_ref",
        "aspect",
        "received_date",
        "service_manager",
        "scrutineer",
        "stage",
        "state",
        "closed_on",
        "close_reason",
        "obligations",
        "overdue_count",
        "escalations",
        "next_due",
        "waiting_for",
        "history",
    ]
    assert status["closed_on"] is None and status["close_reason"] is None
    met = next(o for o in status["obligations"] if o["id"] == "service-manager-response")
    assert list(met) == ["id", "kind", "due", "status", "met_on", "responsible", "description", "rule"]
    pending = next(o for o in status["obligations"] if o["id"] == "acknowledgement")
    assert list(pending) == ["id", "kind", "due", "status", "responsible", "description", "rule"]
    assert pending["responsible"] == "scr-1"
