"""`cpplan import`: a caseload file in, one plan per good row; bad rows reported by line; safe to
run again; resumes after an interruption."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

import workflows
from starters import cases, cli, importer
from starters.cases import today_in_london
from tests.helpers import eventually, plan_doc, running_worker


@pytest.fixture
async def server(env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server with the project's worker on a queue of its own, which
    `start_plan` uses (CPPLAN_TASK_QUEUE)."""
    async with running_worker(env) as task_queue:
        monkeypatch.setenv("CPPLAN_TASK_QUEUE", task_queue)
        yield env


def good_doc(**overrides: Any) -> dict[str, Any]:
    # The client-side check compares the conference date with the real date: today is never
    # in the future.
    values: dict[str, Any] = {"icpc_date": today_in_london(), "plan_id": f"imp-{uuid.uuid4().hex[:10]}", **overrides}
    return plan_doc(**values)


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


async def run(capsys: pytest.CaptureFixture[str], *argv: str, client: Any = None) -> tuple[int, str, str]:
    code = await asyncio.wait_for(cli.run(["import", *argv], client=client), timeout=120)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def run_id(env: WorkflowEnvironment, plan_id: str) -> str:
    return (await env.client.get_workflow_handle(workflows.workflow_id(plan_id)).describe()).run_id


async def exists(env: WorkflowEnvironment, plan_id: str) -> bool:
    try:
        await run_id(env, plan_id)
    except RPCError as err:
        assert err.status == RPCStatusCode.NOT_FOUND
        return False
    return True


def progress_of(path: Path) -> Path:
    return path.with_name(path.name + ".import-progress")


def errors_of(path: Path) -> Path:
    return path.with_name(path.name + ".errors.jsonl")


# ---------------------------------------------------------------------- JSON lines


async def test_good_rows_are_started_bad_ones_reported_by_line(
    server: WorkflowEnvironment, tmp_path: Path, capsys
) -> None:
    good = [good_doc(), good_doc(), good_doc()]
    future = good_doc(icpc_date=(today_in_london() + timedelta(days=1)).isoformat())
    path = write_jsonl(
        tmp_path / "caseload.jsonl",
        [
            good[0],
            '{"plan_id": "broken", ',  # line 2: not JSON
            good[1],
            "",  # line 4: blank lines are allowed and still counted
            future,  # line 5: the conference is tomorrow
            good[2],
        ],
    )

    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == importer.EXIT_BAD_ROWS, err
    assert out.strip() == "imported 3, already there 0, bad 2"
    assert "line 2: (line): not valid JSON" in err
    assert f"line 5: icpc_date: {future['icpc_date']} is in the future" in err
    assert "line 1:" not in err and "line 3:" not in err and "line 6:" not in err
    for doc in good:
        assert await exists(server, doc["plan_id"])
    assert not await exists(server, future["plan_id"])
    reported = [json.loads(line) for line in errors_of(path).read_text().splitlines()]
    # It copies the bad rows, children's references and families' addresses with them.
    assert errors_of(path).stat().st_mode & 0o777 == 0o600
    assert [r["line"] for r in reported] == [2, 5]
    assert reported[1]["problems"] == [{"field": "icpc_date", "reason": f"{future['icpc_date']} is in the future"}]
    assert reported[1]["input"]["plan_id"] == future["plan_id"]
    assert not progress_of(path).exists()  # finished: nothing to resume

    # Again: nothing new, nothing twice.
    runs = [await run_id(server, doc["plan_id"]) for doc in good]
    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == importer.EXIT_BAD_ROWS
    assert out.strip() == "imported 0, already there 3, bad 2"
    assert [await run_id(server, doc["plan_id"]) for doc in good] == runs


async def test_a_clean_file_exits_0_and_leaves_no_error_file(
    server: WorkflowEnvironment, tmp_path: Path, capsys
) -> None:
    path = write_jsonl(tmp_path / "caseload.jsonl", [good_doc(), good_doc()])
    errors_of(path).write_text('{"line": 9}\n')  # from an earlier run of a file since corrected

    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == 0, err
    assert out.strip() == "imported 2, already there 0, bad 0"
    assert err == ""
    assert not errors_of(path).exists()


async def test_rows_in_the_progress_file_are_skipped_unless_changed(
    server: WorkflowEnvironment, tmp_path: Path, capsys
) -> None:
    docs = [good_doc(), good_doc(), good_doc()]
    path = write_jsonl(tmp_path / "caseload.jsonl", docs)
    # As an interrupted run leaves it: lines 1 and 2 done; line 3's row has changed since.
    progress_of(path).write_text(
        f"# header\n1 {importer.fingerprint(docs[0])}\n2 {importer.fingerprint(docs[1])}\n"
        f"3 {importer.fingerprint({**docs[2], 'category': 'physical'})}\n4 cut-sh"
    )

    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == 0, err
    assert out.strip() == "imported 1, already there 0, bad 0, skipped 2 done in an earlier run"
    # Skipped without asking the server: those two were never started (this server never saw them).
    assert not await exists(server, docs[0]["plan_id"])
    assert not await exists(server, docs[1]["plan_id"])
    assert await exists(server, docs[2]["plan_id"])
    assert not progress_of(path).exists()


async def test_restart_ignores_the_progress_file(server: WorkflowEnvironment, tmp_path: Path, capsys) -> None:
    docs = [good_doc(), good_doc()]
    path = write_jsonl(tmp_path / "caseload.jsonl", docs)
    progress_of(path).write_text(f"1 {importer.fingerprint(docs[0])}\n")

    code, out, _ = await run(capsys, str(path), "--restart", client=server.client)

    assert code == 0
    assert out.strip() == "imported 2, already there 0, bad 0"


async def test_a_server_failure_stops_the_import_and_a_rerun_resumes(
    server: WorkflowEnvironment, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [good_doc(), good_doc(), good_doc()]
    path = write_jsonl(tmp_path / "caseload.jsonl", docs)
    real_start = cases.start_plan

    async def flaky_start(client: Any, doc: dict[str, Any]) -> tuple[str, bool]:
        if doc["plan_id"] == docs[1]["plan_id"]:
            raise RuntimeError("Failed client connect: connection refused")
        return await real_start(client, doc)

    monkeypatch.setattr(cases, "start_plan", flaky_start)
    code, out, err = await run(capsys, str(path), "--concurrency", "1", client=server.client)

    assert code == 1
    assert "stopped: line 2: Failed client connect: connection refused; 2 rows not started" in err
    assert "run the same command again to resume" in err.lower()
    assert out.strip() == "imported 1, already there 0, bad 0"
    assert not await exists(server, docs[2]["plan_id"])
    assert progress_of(path).read_text().splitlines()[1:] == [f"1 {importer.fingerprint(docs[0])}"]

    monkeypatch.setattr(cases, "start_plan", real_start)  # the server is back
    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == 0, err
    assert out.strip() == "imported 2, already there 0, bad 0, skipped 1 done in an earlier run"
    assert all([await exists(server, d["plan_id"]) for d in docs])


async def test_ctrl_c_keeps_the_rows_done_for_the_next_run(
    server: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [good_doc(), good_doc(), good_doc()]
    path = write_jsonl(tmp_path / "caseload.jsonl", docs)
    real_start = cases.start_plan
    stuck = asyncio.Event()

    async def slow_start(client: Any, doc: dict[str, Any]) -> tuple[str, bool]:
        if doc["plan_id"] != docs[0]["plan_id"]:
            stuck.set()
            await asyncio.Event().wait()  # never answers: the user presses Ctrl-C
        return await real_start(client, doc)

    monkeypatch.setattr(cases, "start_plan", slow_start)
    err = io.StringIO()
    task = asyncio.create_task(
        importer.import_file(path, lambda: _client(server), concurrency=1, err=err, out=io.StringIO())
    )
    await asyncio.wait_for(stuck.wait(), timeout=60)
    task.cancel()  # what asyncio.run does on Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task

    assert "interrupted after 1 of 3 rows (imported 1, already there 0, bad 0)" in err.getvalue()
    assert progress_of(path).read_text().splitlines()[1:] == [f"1 {importer.fingerprint(docs[0])}"]

    monkeypatch.setattr(cases, "start_plan", real_start)
    out = io.StringIO()
    code = await importer.import_file(path, lambda: _client(server), err=io.StringIO(), out=out)

    assert code == 0
    assert out.getvalue().strip() == "imported 2, already there 0, bad 0, skipped 1 done in an earlier run"


async def _client(env: WorkflowEnvironment) -> Any:
    return env.client


async def test_the_progress_bar_is_drawn_on_a_terminal(server: WorkflowEnvironment, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "caseload.jsonl", [good_doc(), {"plan_id": "x"}])
    err = io.StringIO()

    code = await importer.import_file(path, lambda: _client(server), err=err, out=io.StringIO(), show_progress=True)

    assert code == importer.EXIT_BAD_ROWS
    text = err.getvalue()
    assert "importing [" in text and "2/2" in text
    assert "line 2: child_ref: Field required\n" in text
    assert text.endswith("\r\x1b[K1 bad row(s), listed in caseload.jsonl.errors.jsonl\n")  # bar cleared first


# ---------------------------------------------------------------------- CSV


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


CSV_HEADER = [
    "plan_id",
    "child_ref",
    "policy",
    "icpc_date",
    "category",
    "lead_social_worker.id",
    "lead_social_worker.email",
    "team_manager.id",
    "team_manager.email",
    "core_group",
    "visit_interval_working_days",
]


async def test_a_csv_caseload(server: WorkflowEnvironment, tmp_path: Path, capsys) -> None:
    today = today_in_london().isoformat()
    ids = [f"csv-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    path = write_csv(
        tmp_path / "caseload.csv",
        CSV_HEADER,
        [
            [
                ids[0],
                "c-1",
                "london",
                today,
                "neglect",
                "sw-1",
                "sw-1@example.org",
                "tm-1",
                "tm-1@example.org",
                "hv-1:professional;par-1:parent:par-1@example.org",
                "",
            ],
            [
                ids[1],
                "c-2",
                "london",
                today,
                "neglect",
                "sw-2",
                "not-an-address",
                "tm-1",
                "tm-1@example.org",
                "hv-1:nobody",
                "5",
            ],
            [
                ids[2],
                "c-3",
                "darlington",
                today,
                "emotional",
                "sw-3",
                "sw-3@example.org",
                "tm-2",
                "tm-2@example.org",
                "",
                "5",
            ],
        ],
    )

    code, out, err = await run(capsys, str(path), client=server.client)

    assert code == importer.EXIT_BAD_ROWS, err
    assert out.strip() == "imported 2, already there 0, bad 1"
    assert "line 3: lead_social_worker.email: " in err
    assert "line 3: core_group.0.role: " in err

    async def started() -> dict[str, Any]:
        status = (await cases.query_status(server.client, ids[2])).as_json()
        assert status["state"] == "active"
        return status

    status = await eventually(started)
    assert (status["policy"], status["team_manager"], status["lead_social_worker"]) == ("darlington", "tm-2", "sw-3")
    assert status["visit_interval_working_days"] == 5
    assert await exists(server, ids[0]) and not await exists(server, ids[1])

    code, out, _ = await run(capsys, str(path), client=server.client)
    assert out.strip() == "imported 0, already there 2, bad 1"


def test_csv_cells_become_a_plan_start() -> None:
    doc = importer.doc_from_cells(
        {
            "plan_id": "P-1",
            "lead_social_worker.id": "sw-1",
            "team_manager.id": "tm-1",
            "team_manager.role": "service-manager",
            "core_group": " hv-1:professional ; par-1:parent:par-1@example.org;; gp-1 ",
            "visit_interval_working_days": "5",
        }
    )

    assert doc == {
        "plan_id": "P-1",
        "lead_social_worker": {"id": "sw-1", "role": "lead-social-worker"},
        "team_manager": {"id": "tm-1", "role": "service-manager"},  # a role given is kept
        "core_group": [
            {"id": "hv-1", "role": "professional"},
            {"id": "par-1", "role": "parent", "email": "par-1@example.org"},
            {"id": "gp-1"},
        ],
        "visit_interval_working_days": 5,
    }


def test_csv_line_numbers_follow_the_file_even_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "caseload.csv"
    path.write_text('plan_id,child_ref,core_group\nP-1,"c\n1",\n\nP-2,c-2,"a:b:c:d"\n', encoding="utf-8")

    rows = importer.read_rows(path, "csv")

    assert [(r.line, r.problems) for r in rows] == [
        (2, []),
        (5, [("core_group", "member 1 'a:b:c:d': write id:role or id:role:email")]),
    ]


async def test_an_unknown_csv_column_is_refused_before_anything_starts(tmp_path: Path, capsys) -> None:
    path = write_csv(tmp_path / "caseload.csv", ["plan_id", "lead_social_worker", "colour"], [["P-1", "sw-1", "red"]])

    code, out, err = await run(capsys, str(path))  # no client: nothing may connect

    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "line 1: unknown column(s) 'lead_social_worker', 'colour'" in err


async def test_dry_run_checks_every_row_without_a_server(tmp_path: Path, capsys) -> None:
    path = write_jsonl(tmp_path / "caseload.jsonl", [good_doc(), good_doc(policy="atlantis")])

    code, out, err = await run(capsys, str(path), "--dry-run")  # no client, no TEMPORAL_ADDRESS needed

    assert code == importer.EXIT_BAD_ROWS
    assert out.strip() == "would import 1, already there 0, bad 1"
    assert "line 2: policy: " in err and "atlantis" in err
    assert not progress_of(path).exists()


async def test_a_bad_row_lists_all_its_errors_at_once(tmp_path: Path, capsys) -> None:
    path = write_jsonl(tmp_path / "caseload.jsonl", [good_doc(policy="atlantis", category="boredom", child_ref="a b")])

    code, out, err = await run(capsys, str(path), "--dry-run")

    assert code == importer.EXIT_BAD_ROWS
    lines = [line for line in err.splitlines() if line.startswith("line 1: ")]
    assert {line.split(":")[1].strip() for line in lines} == {"child_ref", "category", "policy"}
    assert "line 1: policy: unknown profile 'atlantis' (known: " in err
    assert "policy: policy" not in err and "pattern" not in err


async def test_an_unknown_extension_needs_format(tmp_path: Path, capsys) -> None:
    path = write_jsonl(tmp_path / "caseload.txt", [good_doc()])

    code, _, err = await run(capsys, str(path))
    assert code == 1 and "--format" in err

    code, out, _ = await run(capsys, str(path), "--format", "jsonl", "--dry-run")
    assert code == 0 and out.strip() == "would import 1, already there 0, bad 0"
