"""Every API failure as RFC 9457 problem details (`application/problem+json`).

One shape whoever failed: the API's own refusals (`ApiError`), Starlette's (no such route, a
method the route does not take), and a body that is not JSON. `type` is a URI naming the kind
of problem (https://cpplan.invalid/problems/refused, ...: an identifier, not a page to fetch),
`title` the kind in words, `status` the HTTP status, `detail` this occurrence in words,
`instance` the path asked for, and `errors` one `{field, reason}` per field at fault (empty when
no field is). A client keys its handling on `type` and `status`, never on the words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi.responses import JSONResponse

PROBLEM_BASE = "https://cpplan.invalid/problems/"
MEDIA_TYPE = "application/problem+json"
# Seconds a client waits before asking again when Temporal or a worker could not answer.
RETRY_AFTER_S = 5

# The API's kinds of failure: ApiError.type -> (the URI's last part, title).
KINDS: dict[str, tuple[str, str]] = {
    "Malformed": ("malformed", "The body is not readable JSON"),
    "NotSignedIn": ("not-signed-in", "Not signed in"),
    "Forbidden": ("forbidden", "Not yours to do or to see"),
    "NotFound": ("not-found", "Not found"),
    "MethodNotAllowed": ("method-not-allowed", "Method not allowed"),
    "NotModified": ("not-modified", "Not modified"),
    "Conflict": ("conflict", "A different plan has this plan id"),
    "TooLarge": ("too-large", "The body is too large"),
    "UnsupportedMediaType": ("unsupported-media-type", "The body must be JSON"),
    "Refused": ("refused", "Refused: nothing was changed"),
    "TooManyRequests": ("too-many-requests", "Too many requests"),
    "Unavailable": ("unavailable", "Temporal or the worker cannot be reached"),
    "Timeout": ("no-answer", "No worker answered in time"),
    "Error": ("error", "Error"),
}
# The kind of a status that has no ApiError.type of its own (Starlette's errors).
KIND_OF_STATUS = {
    400: "Malformed",
    401: "NotSignedIn",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    422: "Refused",
    429: "TooManyRequests",
    503: "Unavailable",
    504: "Timeout",
}


class Failure(Protocol):
    status: int
    type: str
    detail: str
    errors: list[dict[str, str]]
    headers: dict[str, str]


def type_uri(kind: str) -> str:
    return PROBLEM_BASE + KINDS.get(kind, KINDS["Error"])[0]


def body(status: int, kind: str, detail: str, errors: list[dict[str, str]], instance: str) -> dict[str, Any]:
    return {
        "type": type_uri(kind),
        "title": KINDS.get(kind, KINDS["Error"])[1],
        "status": status,
        "detail": detail,
        "instance": instance,
        "errors": errors,
    }


def response(
    status: int,
    kind: str,
    detail: str,
    *,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The problem as a response, with the headers its status calls for: `WWW-Authenticate` on
    a 401, `Retry-After` on a 429, 503 or 504 (unless the caller gave their own)."""
    out = dict(headers or {})
    if status == 401:
        out.setdefault("WWW-Authenticate", "Bearer")
    if status in (429, 503, 504):
        out.setdefault("Retry-After", str(RETRY_AFTER_S))
    return JSONResponse(
        body(status, kind, detail, errors or [], instance), status_code=status, headers=out, media_type=MEDIA_TYPE
    )


def of(err: Failure, instance: str) -> JSONResponse:
    return response(err.status, err.type, err.detail, instance=instance, errors=err.errors, headers=err.headers)


def kind_of(status: int) -> str:
    return KIND_OF_STATUS.get(status, "Error")


# A refusal's reason code (`code` on the failures the client raises, starters/cases/errors.py) ->
# (HTTP status, ApiError.type). Statuses are decided by the code, never by a message's words.
STATUS_OF_CODE: dict[str, tuple[int, str]] = {
    "refused": (422, "Refused"),
    "forbidden": (403, "Forbidden"),
    "conflict": (409, "Conflict"),
    "not_found": (404, "NotFound"),
    "no_answer": (504, "Timeout"),
    "busy": (429, "TooManyRequests"),
    "unavailable": (503, "Unavailable"),
}
