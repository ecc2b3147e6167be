"""The README's ops query lists each plan once, across continue-as-new, and NextDue reads as
the due day at 09:00 in London."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

import workflows
from starters import cases
from starters.cases import today_in_london
from tests.cli.test_cli_server import run
from tests.helpers import eventually
from workflows import search_attributes as sa
from workflows.calendar import LONDON

OPS_QUERY = 'ExecutionStatus = "Running" AND PlanState = "active"'


def test_next_due_is_nine_in_the_morning_in_london() -> None:
    for day in (date(2031, 1, 15), date(2031, 7, 15)):  # winter (GMT) and summer (BST)
        moment = sa.values_from_status(
            {
                "state": "active",
                "policy": "london",
                "team_manager": "tm-1",
                "overdue_count": 0,
                "next_due": {"due": day.isoformat()},
            }
        )[sa.NEXT_DUE.name]
        local = moment.astimezone(LONDON)
        assert (local.date(), local.time()) == (day, time(9))


async def test_the_ops_query_lists_a_continued_plan_once(
    dev_server: WorkflowEnvironment, capsys: pytest.CaptureFixture[str], demo_doc: dict[str, Any]
) -> None:
    plan_id = demo_doc["plan_id"]
    await cases.start_plan(dev_server.client, demo_doc)
    code, _, err = await run(
        dev_server,
        capsys,
        "record-review-conference",
        plan_id,
        "--date",
        today_in_london().isoformat(),
        "--outcome",
        "continue",
    )
    assert code == 0, err
    where = f'WorkflowId = "{workflows.workflow_id(plan_id)}"'

    async def runs(query: str) -> list[Any]:
        return [w async for w in dev_server.client.list_workflows(f"{where} AND {query}")]

    async def both_runs_indexed() -> None:
        assert len(await runs('PlanState = "active"')) == 2  # the closed run keeps its values

    await eventually(both_runs_indexed, timeout=30)
    listed = await runs(OPS_QUERY)
    assert len(listed) == 1
    next_due = listed[0].typed_search_attributes.get(sa.NEXT_DUE)
    assert next_due is not None and next_due.astimezone(LONDON).time() == time(9)
