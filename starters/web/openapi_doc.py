"""`/api/openapi.json` as the truth: what FastAPI derives from the routes and models, finished
with what it cannot know.

- the bearer scheme every operation needs;
- bounds in JSON Schema's words: the models' `ge`/`le` (written so when a validator stands
  before the bound) become `minimum`/`maximum`;
- the people the server requires more of than `Person` says: the lead social worker and team
  manager are members of staff with an e-mail address, the managers members of staff;
- every status each operation can answer, failures as problem details
  (starters/web/problems.py), with the headers that go with them;
- an example request for every operation (`examples`, checked by tests/web/test_schemathesis.py);
- the events posted to case systems, under `webhooks` (starters/web/openapi_webhooks.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from starters.web import openapi_webhooks, problems
from starters.web.api_models import (
    Accepted,
    CalendarFeed,
    FeedRevoked,
    Problem,
    Recorded,
    Started,
    plan_status_schema,
)
from workflows import models as m
from workflows.calendar import local_date

EXAMPLE_PLAN = "example-plan-1"

DESCRIPTION = f"""\
The case systems' API for child protection plans.

**Signing in.** Every operation needs an OpenID Connect bearer token (`Authorization: Bearer …`).
Who decides is the token's person, never a field of the body.

**Bodies.** JSON objects (`application/json`, UTF-8; anything else is a 415, unreadable JSON a
400). Fields a model does not have are refused (`additionalProperties: false`); text is read
without surrounding spaces; dates are `YYYY-MM-DD`, from 1900 to 2100; flags are `true`/`false`; counts are JSON
integers (`10.0` reads as 10, `10.5` is refused). Beyond the schema, a plan's own rules refuse
what cannot be true of it (a visit before the plan, a member it does not have): a 422 naming
each field.

**Failures** are RFC 9457 problem details (`application/problem+json`): `type` a URI under
{problems.PROBLEM_BASE} (`refused`, `forbidden`, `not-found`, `conflict`, `no-answer`, ...),
`title`, `status`, `detail`, `instance` (the path) and `errors`, one `{{field, reason}}` per field
at fault. 503 and 504 carry `Retry-After`; 405 carries `Allow`.

**Conventions.** A start answers 201 with `Location` (200, same `Location`, when the same plan is
already there; 409 naming the fields when a different one is). A plan's status has an `ETag`
(`If-None-Match` answers 304). `/api/work` is paged: `limit`, and `cursor` from the previous
page's `next` (null on the last page), as is a plan's history (`/api/plans/{{plan_id}}/history`:
`limit`, and `cursor` from the page before's `next_cursor`). Each message says the capacity it
needs on the plan (`x-cpplan-decided-by`: practitioner, manager or service-manager): anyone else
is refused it (403), and `ops` are refused every message before the body is read. Messages take an `Idempotency-Key`: a repeat with the same
body is applied once.

**Events.** What happens to a plan is posted to the case system's own endpoints
(`CPPLAN_WEBHOOK_URL`, ...) as it happens, so it need not poll: each event type is under
`webhooks`, a CloudEvent (`application/cloudevents+json`) signed as Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once. Any 2xx answer delivers
it; anything else is tried again, with the same `webhook-id`.
"""

COMMON = (401, 413, 429, 503)
WITH_BODY = (400, 415, 422)
PER_ROUTE: dict[str, tuple[int, ...]] = {
    "start": (403, 409, 504),
    "status": (403, 404, 422, 504),
    "history": (403, 404, 422),
    "work": (403, 422),
    "calendar": (),
    "calendar-feed": (403,),
    "calendar-feed-revoke": (),
}
MESSAGE = (403, 404, 504)
DESCRIBED = {
    400: "the body is not JSON (UTF-8), or is empty",
    401: "no valid bearer token",
    403: "not yours to decide, or to see",
    404: "no such plan",
    409: "a plan with this id and other content exists, or has ended: `errors` names the fields",
    413: "the body is too large",
    415: "the body is not application/json",
    422: "refused: `errors` names each field at fault; nothing was changed",
    429: "too many requests: wait `Retry-After` seconds",
    503: "Temporal or the worker cannot be reached: retry after `Retry-After` seconds",
    504: "no worker answered within the deadline: nothing was applied; retry with the same Idempotency-Key",
}
BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
# A date sent is refused outside m.FIRST_YEAR..m.LAST_YEAR (workflows/models.py `Day`): JSON
# Schema's `format: date` cannot bound a year, so a pattern says it (requests only: a date read
# back from an older plan is shown as it was accepted then).
YEARS_PATTERN = "^(19[0-9]{2}|20[0-9]{2}|2100)-"
STAFF_ROLES = [r for r in m.ROLES if r not in m.FAMILY_ROLES and r != "partnership"]


def _json_schema_words(node: Any) -> Any:
    if isinstance(node, dict):
        return {BOUNDS.get(k, k) if isinstance(v, int | float) else k: _json_schema_words(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_schema_words(v) for v in node]
    return node


def _dates_in_years(node: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    """Every `format: date` in a request body (and the components it refers to) gets the years
    the server takes."""
    if isinstance(node, list):
        for item in node:
            _dates_in_years(item, schemas, seen)
    if not isinstance(node, dict):
        return
    ref = node.get("$ref", "")
    if ref.startswith("#/components/schemas/") and ref not in seen:
        seen.add(ref)
        _dates_in_years(schemas[ref.rsplit("/", 1)[1]], schemas, seen)
    if node.get("format") == "date":
        node["pattern"] = YEARS_PATTERN
    for value in node.values():
        _dates_in_years(value, schemas, seen)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent or a value: `anyOf [X, null]` is X."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1 and "anyOf" in schema:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **rest}
    return schema


def _problem(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": DESCRIBED[status],
        "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    if status in (429, 503, 504):
        answer["headers"] = {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}
    return answer


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _people(schemas: dict[str, Any]) -> None:
    person = schemas["Person"]
    staff = {**person, "title": "Staff", "properties": dict(person["properties"])}
    staff["properties"]["role"] = {**person["properties"]["role"], "enum": STAFF_ROLES}
    staff["description"] = "a member of staff (not the family, not a partnership)"
    contactable = {
        **staff,
        "title": "ContactableStaff",
        "required": ["id", "email"],
        "description": "a member of staff reminders and escalations are sent to: e-mail required",
    }
    contactable["properties"] = {**staff["properties"], "email": _not_null(person["properties"]["email"])}
    schemas["Staff"], schemas["ContactableStaff"] = staff, contactable
    start = schemas["PlanStart"]["properties"]
    for name in ("lead_social_worker", "team_manager"):
        start[name] = {"$ref": "#/components/schemas/ContactableStaff"}
    for name in ("service_manager", "senior_manager"):
        start[name] = {"anyOf": [{"$ref": "#/components/schemas/Staff"}, {"type": "null"}]}


def example_start(today: date) -> dict[str, Any]:
    return {
        "plan_id": EXAMPLE_PLAN,
        "child_ref": "child-example-1",
        "policy": "london",
        "icpc_date": today.isoformat(),
        "category": "neglect",
        "lead_social_worker": {"id": "sw-demo", "role": "lead-social-worker", "email": "sw-demo@example.org"},
        "team_manager": {"id": "tm-demo", "role": "team-manager", "email": "tm-demo@example.org"},
        "service_manager": {"id": "sm-demo", "role": "service-manager", "email": "sm-demo@example.org"},
        "core_group": [{"id": "hv-demo", "role": "professional", "email": "hv-demo@example.org"}],
    }


def example_messages(today: date) -> dict[str, dict[str, Any]]:
    """A body each message accepts on the example plan (started today), sent in this order."""
    day = today.isoformat()
    return {
        "record-visit": {"date": day, "seen": True, "seen_alone": True},
        "set-visit-frequency": {"interval_working_days": 5},
        "record-core-group": {"date": day},
        "record-notes-circulated": {"date": day},
        "record-signature": {"member_id": "hv-demo", "date": day},
        "record-completion": {"obligation_id": "core-assessment-1", "date": day},
        "schedule-meeting": {"kind": "core_group", "date": day},
        "authorise-early-review": {"review_date": (today + timedelta(days=14)).isoformat()},
        "decline-early-review": {"reason_ref": "ref-1"},
        "change-lead-social-worker": {"person": {"id": "sw-demo2", "email": "sw-demo2@example.org"}},
        "record-review-conference": {"date": day, "outcome": "continue"},
        "report-incident": {"kind": "new-incident", "date": day},
        "escalate": {"to": "tm-demo"},
        "report-missing": {"date": day},
        "report-found": {"date": day},
        "report-death": {"date": day},
        "reopen-plan": {"reason_ref": "ref-1"},
        "record-delivery-failure": {
            "key": f"{EXAMPLE_PLAN}:visit-reminder:sw-demo",
            "to": "sw-demo",
            "status": "permanent-failure",
            "date": day,
        },
    }


def document(app: FastAPI, today: date) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    doc["info"]["description"] = DESCRIPTION
    doc = _json_schema_words(doc)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(plan_status_schema())
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for model in (Started, Accepted, Recorded, CalendarFeed, FeedRevoked):
        schemas[model.__name__] = model.model_json_schema(mode="serialization")
    _people(schemas)
    openapi_webhooks.install(doc)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "an OpenID Connect access token for this API's audience; its staff id and roles",
        }
    }
    doc["security"] = [{"bearer": []}]
    messages = example_messages(today)
    for item in doc["paths"].values():
        for op in item.values():
            name = op["operationId"]
            for param in op.get("parameters", []):
                param["schema"] = _not_null(param["schema"])
                if param["name"] == "plan_id":
                    param["example"] = EXAMPLE_PLAN
            op["responses"].pop("422", None)
            statuses = COMMON + PER_ROUTE.get(name, MESSAGE)
            if "requestBody" in op:
                statuses += WITH_BODY
            for status in sorted(set(statuses)):
                op["responses"][str(status)] = _problem(status)
            _successes(op, name)
            _dates_in_years(op.get("requestBody"), schemas, set())
            if name == "start":
                op["requestBody"]["content"]["application/json"]["example"] = example_start(today)
            elif name in messages:
                op["requestBody"]["content"]["application/json"]["example"] = messages[name]
    return doc


def _successes(op: dict[str, Any], name: str) -> None:
    answers = op["responses"]
    location = {"Location": {"description": "the plan's address: /api/plans/{plan_id}", "schema": {"type": "string"}}}
    etag = {"ETag": {"description": "the status's version, for If-None-Match", "schema": {"type": "string"}}}
    if name == "start":
        answers["201"] = {"description": "started", "headers": location, "content": _json("Started")}
        answers["200"] = {
            "description": "the same plan was already there",
            "headers": location,
            "content": _json("Started"),
        }
    elif name == "status":
        answers["200"] = {"description": "the plan's status", "headers": etag, "content": _json("PlanStatus")}
        answers["304"] = {"description": "not modified since the ETag given in If-None-Match", "headers": etag}
    elif name in ("work", "history"):
        return  # their response models say it
    elif name == "calendar":
        answers["200"] = {
            "description": "the signed-in person's due dates",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    elif name == "calendar-feed":
        answers["200"] = {"description": "the new secret address, shown once", "content": _json("CalendarFeed")}
    elif name == "calendar-feed-revoke":
        answers["200"] = {"description": "whether there was one to stop", "content": _json("FeedRevoked")}
    elif "202" in answers:
        answers["202"] = {"description": "the report is kept by the plan", "content": _json("Accepted")}
    else:
        answers["200"] = {"description": "what the plan recorded", "content": _json("Recorded")}


def install(app: FastAPI) -> None:
    """Serve this document at the app's openapi_url (made again each day: its examples' dates)."""
    made: dict[date, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        today = local_date(datetime.now(UTC))
        if today not in made:
            made.clear()
            made[today] = document(app, today)
        return made[today]

    app.openapi = openapi  # type: ignore[method-assign]
