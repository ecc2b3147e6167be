"""The OpenAPI document's `webhooks`: the events cpplan posts to a case system's endpoints
(README, "Events out"), one entry per type declared in activities/event_types.py.

Each is the request the delivery loop (worker/event_delivery.py) makes: a `POST` whose body is
the CloudEvent in structured mode, as activities/event_facts.py makes it, with the Standard
Webhooks headers, and the answers the loop acts on (2xx delivered; anything else tried again).
"""

from __future__ import annotations

from typing import Any

from activities.event_facts import CONTENT_TYPE, DATA_CONTENT_TYPE, DEFAULT_SOURCE, EVENT_ID_PATTERN
from activities.event_types import EVENTS, EventType
from worker.event_delivery import DEFAULT_GIVE_UP_HOURS, DEFAULT_TIMEOUT_S, Retry

SIGNATURE = "v1,[A-Za-z0-9+/]+={0,2}"
HEADERS: dict[str, dict[str, Any]] = {
    "WebhookId": {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's id, the same as its `id`: the same on every attempt and every redelivery. "
        "An id already handled is done: answer 2xx and do nothing more.",
        "schema": {"type": "string", "pattern": EVENT_ID_PATTERN},
    },
    "WebhookTimestamp": {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "When this attempt was signed, in whole seconds since 1970-01-01 UTC. A receiver "
        "refuses one far from its own clock (Standard Webhooks suggests 5 minutes) so that an old request "
        "cannot be replayed.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WebhookSignature": {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed "
        "with the endpoint's own secret (the bytes whose base64 follows `whsec_` in CPPLAN_WEBHOOK_SECRET). "
        "Compare in constant time; a Standard Webhooks library does all of this.",
        "schema": {"type": "string", "pattern": f"^{SIGNATURE}( {SIGNATURE})*$"},
    },
}


def _seconds(value: float) -> str:
    return f"{value / 60:g} minutes" if value >= 60 else f"{value:g} s"


def _answers() -> dict[str, Any]:
    retry = Retry()
    return {
        "2XX": {
            "description": "Delivered: this endpoint is not sent the event again (unless someone runs "
            "`cpplan events redeliver`, which sends it with the same `webhook-id`). The answer's body is not read."
        },
        "default": {
            "description": "Not delivered. Any other answer (a redirect, which is not followed, a 4xx, a 5xx), "
            f"or none within CPPLAN_WEBHOOK_TIMEOUT (default {_seconds(DEFAULT_TIMEOUT_S)}), is tried again "
            f"after {_seconds(retry.first.total_seconds())}, then twice as long each time up to "
            f"{_seconds(retry.longest.total_seconds())}, always with the same `webhook-id` and body. Still failing "
            f"CPPLAN_WEBHOOK_GIVE_UP hours (default {DEFAULT_GIVE_UP_HOURS:g}) after the first failure, the "
            "delivery is given up: `cpplan doctor` reports it and `cpplan events redeliver` sends it again. "
            "A refusal of a bad signature (401) is retried like any other: the endpoint's secret needs putting right."
        },
    }


def _names(event: EventType) -> tuple[str, str]:
    """The component names of the event's envelope and of its data: PlanStartedEvent, PlanStartedData."""
    data = event.data.__name__
    return data.removesuffix("Data") + "Event", data


def envelope_schema(event: EventType) -> dict[str, Any]:
    """The CloudEvent as posted: every attribute cpplan sets, and no other."""
    _, data = _names(event)
    attributes: dict[str, Any] = {
        "specversion": {"type": "string", "const": "1.0", "description": "CloudEvents 1.0"},
        "id": {
            "type": "string",
            "pattern": EVENT_ID_PATTERN,
            "description": "the event's id, the same as `webhook-id`: derived from what happened, so an event "
            "sent again has the same id",
        },
        "source": {
            "type": "string",
            "format": "uri-reference",
            "minLength": 1,
            "description": f"this service: CPPLAN_EVENTS_SOURCE, default `{DEFAULT_SOURCE}`",
        },
        "type": {"type": "string", "const": event.type},
        "subject": {"type": "string", "description": "the plan's id, as the case system gave it"},
        "time": {
            "type": "string",
            "format": "date-time",
            "description": "when it happened, on the plan's clock (RFC 3339, UTC)",
        },
        "datacontenttype": {"type": "string", "const": DATA_CONTENT_TYPE},
        "data": {"$ref": f"#/components/schemas/{data}"},
    }
    return {
        "title": f"{event.summary} (CloudEvent)",
        "description": f"`{event.type}`: sent when {event.when}.",
        "type": "object",
        "required": list(attributes),
        "properties": attributes,
        "additionalProperties": False,
    }


def _operation(event: EventType) -> dict[str, Any]:
    envelope, _ = _names(event)
    return {
        "post": {
            "operationId": "event-" + event.name.replace(".", "-"),
            "tags": ["events"],
            "summary": event.summary,
            "description": f"Sent when {event.when}. The body is the CloudEvent (structured mode); its `data` "
            "holds the case system's own references, staff ids, codes and dates only. Events come at least "
            "once and in no set order: treat a `webhook-id` already handled as done, and go by `time`.",
            # cpplan signs its requests (webhook-signature); it sends no bearer token.
            "security": [],
            "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in HEADERS],
            "requestBody": {
                "required": True,
                "content": {CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{envelope}"}}},
            },
            "responses": _answers(),
        }
    }


def install(doc: dict[str, Any]) -> None:
    """Add `webhooks`, keyed by event type, with the schemas and header parameters they use."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components.setdefault("parameters", {}).update(HEADERS)
    doc["webhooks"] = {}
    for event in EVENTS:
        envelope, data = _names(event)
        schemas[envelope] = envelope_schema(event)
        schemas[data] = {**event.data_schema(), "description": f"The `data` of a `{event.type}` event."}
        doc["webhooks"][event.type] = _operation(event)
