"""503 when Temporal cannot be reached, 504 when no worker answers within the deadline."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx

import workflows
from starters.web import audit
from starters.web.server import start_embedded, stop_embedded
from tests.web.conftest import Web, free_port


async def test_no_worker_is_504_and_no_temporal_is_503(web: Web, plan_doc: dict[str, Any]) -> None:
    # A plan on a task queue no worker polls: its status query cannot be answered.
    await web.env.client.start_workflow(
        workflows.WORKFLOW_TYPE,
        plan_doc,
        id=workflows.workflow_id(plan_doc["plan_id"]),
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
    )
    headers = web.auth("case-sys-1", "case-system")
    async with web.http() as http:
        short = replace(web.settings, deadline_s=2.0)

        async def connect() -> Any:
            return web.env.client

        port = free_port()
        server, task = await start_embedded(connect, "127.0.0.1", port, short)
        try:
            async with httpx.AsyncClient(timeout=30) as other:
                r = await other.get(f"http://127.0.0.1:{port}/api/plans/{plan_doc['plan_id']}", headers=headers)
            assert r.status_code == 504 and r.json()["type"] == "https://cpplan.invalid/problems/no-answer", r.text
            assert r.headers["retry-after"] == "5"
        finally:
            await stop_embedded(server, task)

        async def unreachable() -> Any:
            raise RuntimeError("Failed client connect")

        port = free_port()
        server, task = await start_embedded(unreachable, "127.0.0.1", port, short)
        try:
            async with httpx.AsyncClient(timeout=30) as other:
                r = await other.get(f"http://127.0.0.1:{port}/api/plans/{plan_doc['plan_id']}", headers=headers)
            assert r.status_code == 503 and r.json()["type"] == "https://cpplan.invalid/problems/unavailable"
            assert r.headers["retry-after"] == "5" and r.headers["content-type"] == "application/problem+json"
        finally:
            await stop_embedded(server, task)
        assert (await http.get("/api/openapi.json")).status_code == 200
    outcomes = {(r["status"], r["outcome"]) for r in audit.rows(plan_doc["plan_id"])}
    assert (504, "Timeout") in outcomes and (503, "Unavailable") in outcomes
