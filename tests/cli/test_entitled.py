"""The command line against a real (time-skipping) server: the family never in staff places, a
report's `--by` checked against the plan, one of `--seen`/`--no-seen`, notes not recorded after
their signatures, a wrong ending put right by the plan's service manager, and a start whose
people do not add up refused."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import workflows
from starters import cases, cli
from starters.cases import today_in_london
from tests.cli.test_cli_server import run
from tests.helpers import eventually


async def test_family_are_not_staff_and_reports_name_who_sent_them(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, demo_doc)
    today = today_in_london().isoformat()

    code, _, err = await run(temporal, capsys, "record-visit", plan_id, "--date", today, "--seen", "--no-seen")
    assert code == 2 and "give one of --seen or --no-seen, once" in err
    code, _, err = await run(temporal, capsys, "record-visit", plan_id, "--date", today, "--seen", "--by", "par-demo")
    # The workflow's refusal says by its type that the sender is not entitled: exit 4, not 1.
    assert code == cli.EXIT_FORBIDDEN == 4 and "by: 'par-demo' is the child's parent on this plan" in err, err
    code, _, err = await run(
        temporal, capsys, "change-lead-social-worker", plan_id, "--person-id", "par-demo",
        "--person-email", "par-demo@example.org", "--by", "tm-demo",
    )  # fmt: skip
    assert code == cli.EXIT_FORBIDDEN and "person.id: 'par-demo' is the child's parent" in err, err
    code, _, err = await run(
        temporal, capsys, "change-lead-social-worker", plan_id, "--person-id", "sw-new",
        "--person-email", "x>y@evil.com", "--by", "tm-demo",
    )  # fmt: skip
    assert code == 1 and "person.email: must be an e-mail address" in err, err
    # A report by a parent, or by a service manager on no role of the plan, is not sent.
    for by in ("par-demo", "sm-other"):
        code, out, err = await run(temporal, capsys, "report-death", plan_id, "--date", today, "--by", by)
        assert (
            code == cli.EXIT_FORBIDDEN and out == "" and f"by: {by!r} is not this plan's lead social worker" in err
        ), err
    history = await temporal.client.get_workflow_handle(workflows.workflow_id(plan_id)).fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")]
    status = (await cases.query_status(temporal.client, plan_id)).as_json()
    assert status["state"] == "active" and status["lead_social_worker"] == "sw-demo"
    assert not [h for h in status["history"] if h["event"] == "visit"]

    # Sent raw, past the command line, a report by a parent is kept as unreadable, never applied.
    await cases.send_signal(temporal.client, plan_id, "report_death", {"date": today, "by": "par-demo"})

    async def kept() -> None:
        status = (await cases.query_status(temporal.client, plan_id)).as_json()
        unreadable = [h for h in status["history"] if h["event"] == "unreadable-message"]
        assert unreadable and "par-demo" in unreadable[0]["reason"], status["history"]
        assert status["state"] == "active"

    await eventually(kept)


async def test_notes_are_not_recorded_after_their_signatures(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    """Signatures recorded first, dated before the notes then recorded: refused, naming them."""
    from datetime import timedelta

    plan_id = demo_doc["plan_id"]
    icpc = today_in_london()
    await cases.start_plan(temporal.client, demo_doc)
    meeting, signed, notes = (icpc + timedelta(days=d) for d in (1, 2, 3))
    await temporal.sleep(timedelta(days=4))
    code, _, err = await run(temporal, capsys, "record-core-group", plan_id, "--date", meeting.isoformat())
    assert code == 0, err
    code, _, err = await run(
        temporal, capsys, "record-signature", plan_id, "--member-id", "hv-demo", "--date", signed.isoformat()
    )
    assert code == 0, err
    code, _, err = await run(temporal, capsys, "record-notes-circulated", plan_id, "--date", notes.isoformat())
    assert code == 1 and f"hv-demo ({signed.isoformat()})" in err and "not dated before the notes" in err, err
    code, _, err = await run(temporal, capsys, "record-notes-circulated", plan_id, "--date", signed.isoformat())
    assert code == 0, err


async def test_a_wrong_ending_is_reopened_by_the_service_manager(
    temporal: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(temporal.client, demo_doc)
    before = (await cases.query_status(temporal.client, plan_id)).as_json()
    code, _, err = await run(temporal, capsys, "report-death", plan_id, "--date", demo_doc["icpc_date"])
    assert code == 0, err

    async def ended() -> None:
        assert ((await cases.query_status(temporal.client, plan_id)).as_json())["state"] == "ended"

    await eventually(ended)
    code, _, err = await run(temporal, capsys, "reopen-plan", plan_id, "--by", "tm-demo")
    assert code == cli.EXIT_FORBIDDEN and "not this plan's service manager" in err, err
    code, out, err = await run(temporal, capsys, "reopen-plan", plan_id, "--by", "sm-demo", "--reason-ref", "err-7")
    assert code == 0, err
    after = (await cases.query_status(temporal.client, plan_id)).as_json()
    assert after["state"] == "active"
    assert [(o["id"], o["due"]) for o in after["obligations"] if o["status"] != "met"] == [
        (o["id"], o["due"]) for o in before["obligations"] if o["status"] != "met"
    ]
    reopened = [h for h in after["history"] if h["event"] == "plan-reopened"]
    assert reopened and reopened[0]["by"] == "sm-demo" and reopened[0]["reason_ref"] == "err-7"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"team_manager": {"id": "sw-demo", "role": "team-manager", "email": "sw-demo@example.org"}},
            "team_manager.id",
        ),
        ({"chair": {"id": "par-demo", "role": "parent", "email": "par-demo@example.org"}}, "chair.role"),
        ({"lead_social_worker": {"id": "sw-demo", "email": "a@evil.com,b.org"}}, "lead_social_worker.email"),
    ],
    ids=["lead-also-team-manager", "chair-a-parent", "bad-address"],
)
async def test_a_start_whose_people_do_not_add_up_is_refused(
    temporal: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
    demo_doc: dict[str, Any],
    write_doc,
    change,
    field,
) -> None:
    code, out, err = await run(temporal, capsys, "start", write_doc({**demo_doc, **change}))
    assert code == 1 and out == "" and f"{field}: " in err, err
