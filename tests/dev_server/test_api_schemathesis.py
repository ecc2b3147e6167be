"""The API against its own document, by a tool nobody here wrote: schemathesis generates
requests from `/api/openapi.json` (valid and invalid ones, every operation) and checks every
answer against the document with all its checks: statuses declared, bodies and headers as
documented, invalid input refused, valid input accepted, no 5xx, no answer without a token.

The live stack: the real Temporal dev server, the real worker, and `cpplan serve`'s app signed
into with a development token, in a thread of their own (schemathesis calls it over HTTP from
this one). Fixed seed, bounded examples: a few minutes at most on a loaded machine.

Valid input by the schema may still be refused by a plan's own rules (a visit before the plan,
a member it does not have, a conference more than five years ago): the document says so, and
the positive-data check takes 422 as an answer for it. Everything else is the defaults.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from starters.web.devkey import DevKey, dev_token, ensure_dev_key
from starters.web.openapi_doc import EXAMPLE_PLAN
from starters.web.settings import WebSettings
from tests.conftest import TEST_CODEC_KEYS
from tests.web.conftest import free_port

SEED = 20261204
CASE_SYSTEM = ("case-sys-1", ["case-system", "service-manager"])
# The order a practitioner would send them in: an incident asks for the early-review decision
# a manager then takes (twice, to authorise one and decline the other); the plan ends, and its
# service manager puts the ending right.
EXAMPLE_ORDER = (
    "record-visit",
    "set-visit-frequency",
    "record-core-group",
    "record-notes-circulated",
    "record-signature",
    "record-completion",
    "schedule-meeting",
    "report-incident",
    "authorise-early-review",
    "report-incident",
    "decline-early-review",
    "change-lead-social-worker",
    "escalate",
    "report-missing",
    "report-found",
    "record-review-conference",
    "record-delivery-failure",
    "report-death",
    "reopen-plan",
)


@dataclass
class LiveApi:
    url: str
    key: DevKey
    settings: WebSettings

    def auth(self, staff_id: str, roles: list[str]) -> dict[str, str]:
        token = dev_token(self.key, staff_id, roles, issuer=self.settings.issuer, audience=self.settings.audience)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """Dev server, worker and web app in a thread with its own event loop, until the module ends."""
    monkeypatch = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("live-api")
    monkeypatch.setenv("CPPLAN_DATABASE_URL", f"sqlite:///{tmp / 'cpplan.db'}")
    monkeypatch.setenv("CPPLAN_TASK_QUEUE", f"schemathesis-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("CPPLAN_CODEC_KEYS", TEST_CODEC_KEYS)  # (the per-test setting comes too late here)
    for name in ("CPPLAN_SMTP_URL", "CPPLAN_POLICY_DIR", "CPPLAN_OIDC_ISSUER", "CPPLAN_OIDC_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("CPPLAN_OIDC_JWKS_FILE", "CPPLAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    from activities.db import reset_engine_cache

    reset_engine_cache()
    key = ensure_dev_key(tmp / "keys")
    # schemathesis sends hundreds of requests a minute from one address, many without a token or
    # with a wrong one on purpose: the rate limits (429, tests/web/test_limits.py) are off here,
    # or they would answer in place of what is under test.
    web_settings = replace(
        WebSettings.from_env(dev_dir=tmp / "keys"),
        deadline_s=30.0,
        rate_per_address=0,
        rate_per_identity=0,
        failed_sign_ins=0,
    )
    port = free_port()
    ready = threading.Event()
    failed: list[BaseException] = []
    holder: dict[str, Any] = {}

    async def run() -> None:
        from temporalio.testing import WorkflowEnvironment

        from starters.dev import temporal_binary
        from starters.web.server import start_embedded, stop_embedded
        from worker.client import sealing_options
        from worker.main import build_worker
        from worker.search_attributes import ensure_search_attributes
        from workflows import task_queue

        env = await WorkflowEnvironment.start_local(
            **sealing_options(),
            ip="127.0.0.1",
            dev_server_existing_path=temporal_binary(),
            dev_server_log_level="error",
        )
        try:
            await ensure_search_attributes(env.client)
            async with build_worker(env.client, task_queue=task_queue()):

                async def connect() -> Any:
                    return env.client

                server, task = await start_embedded(connect, "127.0.0.1", port, web_settings)
                stop = asyncio.Event()
                holder["stop"] = (asyncio.get_running_loop(), stop)
                ready.set()
                try:
                    await stop.wait()
                finally:
                    await stop_embedded(server, task)
        finally:
            await env.shutdown()

    def main() -> None:
        try:
            asyncio.run(run())
        except BaseException as err:  # reported to the test, not lost in the thread
            failed.append(err)
        finally:
            ready.set()

    thread = threading.Thread(target=main, name="live-api", daemon=True)
    thread.start()
    try:
        assert ready.wait(180) and not failed, failed
        yield LiveApi(url=f"http://127.0.0.1:{port}", key=key, settings=web_settings)
    finally:
        if "stop" in holder:
            loop, stop = holder["stop"]
            loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        reset_engine_cache()
        monkeypatch.undo()


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": live_api.auth(*CASE_SYSTEM),
            "generation": {"max-examples": 8, "deterministic": True},
            "checks": {
                # A plan's own rules refuse some input the schema allows (see the docstring).
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
                },
            },
        }
    )
    return schemathesis.openapi.from_url(f"{live_api.url}/api/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis's lazy schema reads the test's `_nodeid`, which pytest 9 no longer keeps."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_as_its_document_says(case: schemathesis.Case, live_api: LiveApi) -> None:
    case.call_and_validate(headers=live_api.auth(*CASE_SYSTEM), timeout=60)


def test_every_operation_has_an_example_that_succeeds(live_api: LiveApi) -> None:
    """The document's example for each operation, sent as it stands to a plan started from the
    start's example (then the messages in EXAMPLE_ORDER), each by someone holding the capacity
    the document says it needs on the plan (`x-cpplan-decided-by`): each is accepted."""
    manager = live_api.auth("sm-demo", ["service-manager"])  # one of the plan's managers, its service manager
    case_system = live_api.auth(*CASE_SYSTEM)
    with httpx.Client(base_url=live_api.url, timeout=60) as http:
        doc = http.get("/api/openapi.json").json()
        start = doc["paths"]["/api/plans"]["post"]["requestBody"]["content"]["application/json"]["example"]
        # A plan of this test's own (schemathesis may have sent the examples to EXAMPLE_PLAN
        # already, its death report included).
        plan_id = f"{EXAMPLE_PLAN}-{uuid.uuid4().hex[:8]}"
        r = http.post("/api/plans", json={**start, "plan_id": plan_id}, headers=case_system)
        assert r.status_code in (200, 201), r.text
        assert http.get("/api/work", params={"limit": 1}, headers=case_system).status_code == 200
        assert http.get(f"/api/plans/{plan_id}", headers=case_system).status_code == 200
        assert http.get(f"/api/plans/{plan_id}/history", headers=case_system).status_code in (200, 404)
        messages = [
            p.rsplit("/", 1)[1]
            for p, item in doc["paths"].items()
            if p.startswith("/api/plans/{plan_id}/") and "post" in item
        ]
        assert sorted(messages) == sorted(set(EXAMPLE_ORDER))
        for name in EXAMPLE_ORDER:
            path = f"/api/plans/{{plan_id}}/{name}"
            operation = doc["paths"][path]["post"]
            example = operation["requestBody"]["content"]["application/json"]["example"]
            if "key" in example:  # a notification of the example plan: of this one
                example = {**example, "key": example["key"].replace(f"{EXAMPLE_PLAN}:", f"{plan_id}:", 1)}
            if operation["x-cpplan-decided-by"] == "practitioner":  # the lead social worker of the moment
                status = http.get(f"/api/plans/{plan_id}", headers=case_system)
                assert status.status_code == 200, (name, status.text)
                lead = status.json()["lead_social_worker"]
                sender = live_api.auth(lead, ["social-worker"])
            else:
                sender = manager
            r = http.post(path.replace("{plan_id}", plan_id), json=example, headers=sender)
            assert r.is_success, (path, r.status_code, r.text)
