"""The OpenAPI document's `webhooks` tell a case system the truth about the events it is sent:
one entry for every type cpplan can send and no other, a document that is still valid OpenAPI
3.1, and the events as cpplan makes and posts them valid against the schema of their type,
headers included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# The OpenAPI 3.1 specification's own schema of a document, as schemathesis ships it (no
# openapi-spec-validator here): the document's structure, with each Schema Object checked
# against JSON Schema 2020-12 below.
from schemathesis.specs.openapi.definitions import OPENAPI_31

from activities.event_facts import cloud_event, facts
from activities.event_types import PLAN_STARTED
from starters.web.app import create_app
from starters.web.settings import WebSettings
from tests.helpers import eventually
from tests.helpers.webhook_receiver import receiving_events
from tests.web.conftest import Web

CASE_SYSTEM = ("case-sys-1", "case-system")
DOC_URI = "urn:cpplan:openapi"


def openapi_document(keys: Path) -> dict[str, Any]:
    """The document the web front door serves, made without a server."""

    async def no_temporal() -> Any:
        raise AssertionError("the document needs no Temporal")

    return create_app(WebSettings.from_env(dev_dir=keys), no_temporal).openapi()


@pytest.fixture
def document(tmp_path: Path) -> dict[str, Any]:
    return openapi_document(tmp_path)


def every_kind_of_fact(plan_id: str, at: datetime) -> list[Any]:
    """What a plan's status can tell, all at once: started, an obligation overdue and one met
    late, an escalation, a review held, a message it could not read, and its end."""
    today = at.date()
    status = {
        "plan_id": plan_id,
        "child_ref": "C-1",
        "policy": "london",
        "conference_kind": "initial",
        "state": "ended",
        "icpc_date": (today - timedelta(days=90)).isoformat(),
        "lead_social_worker": "sw-1",
        "team_manager": "tm-1",
        "reviews_held": 1,
        "obligations": [
            {
                "id": "core-group-2",
                "kind": "core-group",
                "due": (today - timedelta(days=3)).isoformat(),
                "status": "overdue",
            },
            {
                "id": "visit-4",
                "kind": "visit",
                "due": (today - timedelta(days=9)).isoformat(),
                "status": "met-late",
                "met_on": (today - timedelta(days=8)).isoformat(),
            },
        ],
        "escalations": [
            {"kind": "overdue", "level": 1, "to": "tm-1", "at": at.isoformat(), "obligation_id": "core-group-2"}
        ],
        "history": [
            {"at": at.isoformat(), "on": today.isoformat(), "event": "unreadable-message", "message": "record_visit"},
            {
                "at": at.isoformat(),
                "on": today.isoformat(),
                "event": "review-conference",
                "outcome": "end",
                "obligation_id": "review-conference-1",
            },
        ],
        "ended_on": today.isoformat(),
        "end_reason": "ended at review conference",
    }
    return facts(plan_id, status, at)


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for `schema` whose `#/components/...` references resolve in the document."""
    registry: Registry[Any] = Registry().with_resource(DOC_URI, Resource.from_contents(document, DRAFT202012))
    return Draft202012Validator(
        {"$ref": DOC_URI + schema["$ref"]}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def request_schema(document: dict[str, Any], event_type: str) -> dict[str, Any]:
    [(media_type, content)] = document["webhooks"][event_type]["post"]["requestBody"]["content"].items()
    assert media_type == "application/cloudevents+json"  # what the delivery loop posts
    return content["schema"]


def test_the_webhooks_are_exactly_the_event_types_cpplan_sends(document: dict[str, Any]) -> None:
    sent = {f.type for f in every_kind_of_fact("P-1", datetime.now(UTC))}
    assert len(sent) == 7
    assert set(document["webhooks"]) == sent
    for event_type, item in document["webhooks"].items():
        assert not validator(document, request_schema(document, event_type)).is_valid({})
        operation = item["post"]
        assert operation["security"] == []  # signed, not signed in
        headers = {
            document["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"] for p in operation["parameters"]
        }
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        assert set(operation["responses"]) == {"2XX", "default"}


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    errors = sorted(Draft202012Validator(OPENAPI_31).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    # Every reference resolves.
    registry: Registry[Any] = Registry().with_resource(DOC_URI, Resource.from_contents(document, DRAFT202012))
    resolver = registry.resolver(DOC_URI)
    text = json.dumps(document)
    for ref in set(part.split('"', 1)[0] for part in text.split('"$ref": "')[1:]):
        resolver.lookup(ref)


def test_each_kind_of_event_as_made_matches_its_documented_schema(document: dict[str, Any]) -> None:
    for fact in every_kind_of_fact("P-1", datetime.now(UTC)):
        body = json.loads(cloud_event("P-1", fact))
        check = validator(document, request_schema(document, fact.type))
        errors = [f"{list(e.path)}: {e.message}" for e in check.iter_errors(body)]
        assert not errors, (fact.type, errors)
        # Documented as another type: refused (the schema tells types apart).
        other = next(t for t in document["webhooks"] if t != fact.type)
        assert not validator(document, request_schema(document, other)).is_valid(body)


async def test_a_started_plans_event_as_posted_matches_the_served_document(
    web: Web, plan_doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with receiving_events(monkeypatch) as receiver:
        async with web.http() as http:
            document = (await http.get("/api/openapi.json")).json()
            r = await http.post("/api/plans", json=plan_doc, headers=web.auth(*CASE_SYSTEM))
            assert r.status_code == 201, r.text

        async def started() -> Any:
            found = [r for r in receiver.received if r.type == PLAN_STARTED]
            assert found, receiver.types()
            return found[0]

        posted = await eventually(started, timeout=30)

    body = json.loads(posted.body)
    assert body["subject"] == plan_doc["plan_id"]
    errors = [
        f"{list(e.path)}: {e.message}"
        for e in validator(document, request_schema(document, PLAN_STARTED)).iter_errors(body)
    ]
    assert not errors, errors
    operation = document["webhooks"][PLAN_STARTED]["post"]
    for ref in operation["parameters"]:
        header = document["components"]["parameters"][ref["$ref"].rsplit("/", 1)[1]]
        value = {k.lower(): v for k, v in posted.headers.items()}[header["name"]]
        assert Draft202012Validator(header["schema"]).is_valid(value), (header["name"], value)
