"""`cpplan status`, `cpplan doctor` and honest starts through the real command line, against a
(time-skipping) Temporal test server and the real worker."""

from __future__ import annotations

import copy
import json
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.read_model import get_plan_status
from starters import cases, cli
from starters.health import NOT_RUNNING_EXIT
from tests.cli.test_cli_server import run
from tests.helpers import eventually


async def _started(env: WorkflowEnvironment, doc: dict[str, Any]) -> str:
    workflow_id, created = await cases.start_plan(env.client, doc)
    assert created

    async def saved() -> None:
        assert get_plan_status(doc["plan_id"]) is not None

    await eventually(saved)
    return workflow_id


async def test_status_and_doctor_tell_a_terminated_plan(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    workflow_id = await _started(temporal, demo_doc)

    code, out, err = await run(temporal, capsys, "doctor")
    assert (code, out.strip()) == (0, "no plan in trouble"), err
    code, out, err = await run(temporal, capsys, "status", plan_id, "--json")
    assert code == 0, err
    assert json.loads(out)["execution_status"] == "running"

    await temporal.client.get_workflow_handle(workflow_id).terminate(reason="test")

    code, out, err = await run(temporal, capsys, "status", plan_id)
    assert code == NOT_RUNNING_EXIT, err
    assert "not running: terminated on " in out
    assert "(as the read model last saved it)" in out and plan_id in out
    code, out, err = await run(temporal, capsys, "status", plan_id, "--json")
    assert code == NOT_RUNNING_EXIT, err
    doc = json.loads(out)
    assert doc["execution_status"] == "terminated" and doc["plan_id"] == plan_id and doc["execution_since"]

    code, out, err = await run(temporal, capsys, "doctor")
    assert code == 1, err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(plan_id) and "terminated since " in lines[0]
    code, out, err = await run(temporal, capsys, "doctor", "--json")
    assert code == 1, err
    [finding] = json.loads(out)
    assert (finding["plan_id"], finding["problem"], finding["team_ref"]) == (plan_id, "terminated", "tm-demo")


async def test_a_second_start_is_idempotent_only_with_the_same_content(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any], write_doc
) -> None:
    workflow_id = await _started(temporal, demo_doc)
    first_run = (await temporal.client.get_workflow_handle(workflow_id).describe()).run_id

    # The same plan, written differently (spacing, an explicit default): already running.
    same = copy.deepcopy(demo_doc)
    same["child_ref"] = f"  {same['child_ref']} "
    same["conference_kind"] = "initial"
    code, out, err = await run(temporal, capsys, "start", write_doc(same))
    assert (code, out.splitlines()[0]) == (0, demo_doc["plan_id"]), err
    assert f"already running (workflow {workflow_id})" in out
    assert "already running with the same content" in err

    other = copy.deepcopy(demo_doc)
    other["category"] = "physical" if demo_doc["category"] != "physical" else "neglect"
    other["team_manager"]["email"] = "someone.else@example.org"
    code, out, err = await run(temporal, capsys, "start", write_doc(other, "other.json"))
    assert code != 0 and out == ""
    assert "category: differs" in err and "team_manager.email: differs" in err
    assert "someone.else" not in err and other["category"] not in err.replace("category:", "")
    assert len(err.strip().splitlines()) == 1
    assert (await temporal.client.get_workflow_handle(workflow_id).describe()).run_id == first_run


async def test_a_start_of_a_closed_plan_is_refused(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any], write_doc
) -> None:
    workflow_id = await _started(temporal, demo_doc)
    await temporal.client.get_workflow_handle(workflow_id).terminate(reason="test")
    code, out, err = await run(temporal, capsys, "start", write_doc(demo_doc))
    assert code == cli.EXIT_CONFLICT and out == ""
    assert f"{workflow_id} is not running (terminated on " in err and "never started again" in err


async def test_a_plan_started_without_a_digest_is_compared_by_its_first_input(
    temporal: WorkflowEnvironment, demo_doc: dict[str, Any]
) -> None:
    import workflows
    from tests.helpers import start_plan_workflow

    # As a release before `start_digest` started it: the memo has no digest.
    await start_plan_workflow(temporal.client, demo_doc, task_queue=workflows.task_queue())
    assert await cases.start_plan(temporal.client, demo_doc) == (workflows.workflow_id(demo_doc["plan_id"]), False)
    other = {**demo_doc, "lead_social_worker": {**demo_doc["lead_social_worker"], "id": "sw-other"}}
    try:
        await cases.start_plan(temporal.client, other)
    except cases.StartConflict as err:
        assert [field for field, _ in err.problems] == ["lead_social_worker.id"]
    else:
        raise AssertionError("a start with another lead social worker was accepted")


async def test_status_of_a_plan_no_worker_answers_for_does_not_hang(
    temporal: WorkflowEnvironment, capsys, demo_doc: dict[str, Any]
) -> None:
    from tests.helpers import start_plan_workflow

    await start_plan_workflow(temporal.client, demo_doc, task_queue="no-worker-polls-this")
    code, out, err = await run(temporal, capsys, "status", demo_doc["plan_id"])
    assert code == NOT_RUNNING_EXIT, err
    assert "no worker answered its status query" in out
    assert "no saved status for this plan" in out
