"""`cpplan complaint`: start a complaint, record its steps, read its status, on a real server."""

from __future__ import annotations

import json

import pytest

from starters.cli import run
from tests.helpers import running_worker
from workflows.calendar import local_date


async def test_a_complaint_is_started_recorded_and_refused_from_the_command_line(
    env, db_url, tmp_path, monkeypatch, capsys
):
    today = local_date(await env.get_current_time())
    doc = {
        "complaint_id": "cmp-1",
        "plan_id": "p-1",
        "policy": "darlington",
        "received_date": today.isoformat(),
        "complainant_ref": "par-1",
        "aspect": "decision",
        "service_manager": {"id": "irsp-sm"},
        "scrutineer": {"id": "dsp-scrutineer"},
    }
    path = tmp_path / "complaint.json"
    path.write_text(json.dumps(doc))
    async with running_worker(env) as tq:
        monkeypatch.setenv("CPPLAN_TASK_QUEUE", tq)
        assert await run(["complaint", "start", str(path)], client=env.client) == 0
        assert capsys.readouterr().out.strip() == "cp-complaint-cmp-1"
        assert await run(["complaint", "record-response", "cmp-1", "--date", today.isoformat()], client=env.client) == 0
        capsys.readouterr()
        assert await run(["complaint", "status", "cmp-1", "--json"], client=env.client) == 0
        status = json.loads(capsys.readouterr().out)
        response = next(o for o in status["obligations"] if o["id"] == "service-manager-response")
        assert response["status"] == "met"
        # A step out of order is refused with a one-line reason.
        assert (
            await run(["complaint", "record-appeal-outcome", "cmp-1", "--date", today.isoformat()], client=env.client)
            == 1
        )
        # (the in-process worker logs to stderr too: the command's own line is the last)
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert last.startswith("cpplan complaint: refused: (complaint): cannot record the appeal outcome")


@pytest.mark.parametrize(
    "argv", [["complaint", "--address", "127.0.0.1:1", "record-response", "cmp-1", "--date", "31/12/2026"]]
)
async def test_a_bad_date_is_refused_before_connecting(argv, capsys):
    assert await run(argv) == 1
    assert "date" in capsys.readouterr().err
