"""`cpplan codec-server`: lets the Temporal UI show decrypted payloads to ops staff with a token.

The UI (and `temporal ... --codec-endpoint`) posts `{"payloads": [...]}` to `<endpoint>/decode`
and `/encode`. The token travels in a header only, `Authorization: Bearer <token>` (what the UI
sends with `passAccessToken`, and the CLI with `--codec-auth` / `TEMPORAL_CODEC_AUTH`) or
`X-Codec-Token`: never in the endpoint's path, which browsers, proxies and the UI's public
settings page would show. No access log is written (aiohttp's would carry the path and client
headers); each request is logged by this module with counts only, never a payload or the token.

Payloads are decoded one by one: one that cannot be opened (a key this server does not hold,
damaged ciphertext) comes back as it was sent and is counted (`X-Cpplan-Undecoded`); a request
none of whose payloads opens, or whose body is not `{"payloads": [...]}` with metadata and data
in strict base64, answers 400 with a short reason.

Payloads are bound to the workflow and message they were sealed for (worker/codec.py), but a
request carries no workflow id (the UI and CLI send only `X-Namespace`): the binding is read
from the payload itself, where AES-GCM's associated data vouches for it, so a payload opens here
whichever history it is read from, and the opened payload keeps `sealed-for-workflow` and
`sealed-for-message` in its metadata for the reader to see where it belonged.

Reading is not writing: `/encode` seals a payload, and needs its own token
(CPPLAN_CODEC_ENCODE_TOKEN; unset, `/encode` is refused to everyone), never the token or sign-in
that lets ops staff read. What it seals is bound to no plan (workflow id empty) and to the
message `codec-server`, so no plan acts on it: messages reach plans through `cpplan` and the
API, which check who sends them. Cross-origin requests are allowed from the UI's origin only (CPPLAN_UI_ORIGIN,
default http://localhost:8233).

`cpplan dev` runs this on 127.0.0.1 with `trust_local_ui`: requests from the local UI's origin
over loopback need no token, because the dev server's UI has no sign-in to send one with.
Production never sets it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from worker.codec import (
    SEALED_FOR_MESSAGE,
    SEALED_FOR_WORKFLOW,
    EncryptionCodec,
    Undecodable,
    is_sealed,
    key_file,
    load_keyring,
    sealed_for,
)
from worker.identity import DEFAULT_AUDIENCE, IssuerSettings, NotSignedIn, TokenVerifier

DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
ALLOWED_HEADERS = "Content-Type, Authorization, X-Codec-Token, X-Namespace"
LOOPBACK = ("127.0.0.1", "::1")
UNDECODED_HEADER = "X-Cpplan-Undecoded"
# What `/encode` seals for: no plan, and a message no plan has.
ENCODED_HERE = "codec-server"

log = structlog.get_logger("cpplan.codec_server")


class BadRequest(ValueError):
    """A request body that is not `{"payloads": [...]}`."""


class ServerCodec(EncryptionCodec):
    holder = "codec server"


def codec_token() -> str | None:
    token = os.environ.get("CPPLAN_CODEC_TOKEN")
    if token:
        return token
    path = key_file()
    if path.exists():
        return json.loads(path.read_text()).get("codec_token")
    return None


def presented_token(request: web.Request) -> str:
    bearer = request.headers.get("Authorization", "")
    if bearer[:7].lower() == "bearer ":
        return bearer[7:].strip()
    return request.headers.get("X-Codec-Token", "").strip()


def encode_token() -> str | None:
    """The token that may seal payloads (`/encode`): its own, never the reading one."""
    return os.environ.get("CPPLAN_CODEC_ENCODE_TOKEN", "").strip() or None


def _strict_base64(document: dict[str, Any]) -> None:
    """protobuf's JSON reader decodes base64 leniently (it skips characters outside the
    alphabet, so `%%%%` reads as no bytes): each value is checked strictly first."""
    for index, item in enumerate(document["payloads"]):
        if not isinstance(item, dict):
            continue  # json_format names it
        metadata = item.get("metadata") or {}
        values = [("data", item.get("data", ""))]
        if isinstance(metadata, dict):
            values += [(f"metadata {key!r}"[:60], value) for key, value in metadata.items()]
        for field, value in values:
            if not isinstance(value, str):
                continue
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(f"payload {index}: {field} is not base64") from None


def parse_payloads(body: bytes) -> list[Payload]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("payloads"), list):
        raise BadRequest('body must be {"payloads": [...]}')
    _strict_base64(document)
    try:
        return list(json_format.ParseDict(document, Payloads(), ignore_unknown_fields=True).payloads)
    except json_format.ParseError:
        raise BadRequest("payloads are not Temporal payloads (metadata and data in base64)") from None


def decode_each(codec: EncryptionCodec, payloads: list[Payload]) -> tuple[list[Payload], list[str]]:
    """Each payload opened, or returned as it came; and why each of those failed."""
    out, failures = [], []
    for payload in payloads:
        if not is_sealed(payload):
            out.append(payload)
            continue
        try:
            out.append(with_binding(codec.open(payload), payload))
        except Undecodable as err:
            out.append(payload)
            failures.append(str(err))
    return out, failures


def with_binding(opened: Payload, sealed: Payload) -> Payload:
    """`opened`, naming in its metadata the workflow and message it was sealed for (none for a
    payload sealed before binding existed)."""
    binding = sealed_for(sealed)
    if binding is not None:
        opened.metadata[SEALED_FOR_WORKFLOW] = binding[0].encode()
        opened.metadata[SEALED_FOR_MESSAGE] = binding[1].encode()
    return opened


def _short(value: str | None, limit: int = 100) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit] + "..."


# Given a bearer token that is not the shared one: the staff id of the ops person it signs in, or
# None (not a valid token of the configured issuer, or not the ops role).
OpsVerifier = Callable[[str], "str | None"]


def build_app(
    codec: EncryptionCodec,
    token: str,
    origins: tuple[str, ...],
    *,
    trust_local_ui: bool = False,
    ops_user: OpsVerifier | None = None,
    sealing_token: str | None = None,
) -> web.Application:
    """Longer than most functions: the request handlers are closures over the codec and the token,
    defined together."""

    def cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = UNDECODED_HEADER
            response.headers["Vary"] = "Origin"
        return response

    def signed_in(request: web.Request) -> str | None:
        """Who is asking: "shared-token", an ops person's staff id (the UI passes the person's
        own access token), "local-ui" in development, "sealing-token" (for `/encode` only), or
        None."""
        given = presented_token(request)
        if given and sealing_token and hmac.compare_digest(given.encode(), sealing_token.encode()):
            return "sealing-token"
        if given:
            if hmac.compare_digest(given.encode(), token.encode()):
                return "shared-token"
            return ops_user(given) if ops_user is not None else None
        # Development only, and only to read: /encode seals what a worker would act on, so it
        # always needs a token.
        if (
            trust_local_ui
            and request.path == "/decode"
            and request.headers.get("Origin") in origins
            and request.remote in LOOPBACK
        ):
            return "local-ui"
        return None

    async def options(request: web.Request) -> web.StreamResponse:
        return cors(request, web.Response())

    def handler(decode: bool):
        operation = "decode" if decode else "encode"

        async def handle(request: web.Request) -> web.StreamResponse:
            context: dict[str, Any] = {
                "op": operation,
                "client": request.remote,
                "namespace": _short(request.headers.get("X-Namespace")),
            }
            if request.headers.get("Origin") and request.headers["Origin"] not in origins:
                log.warning("codec request refused", reason="origin not allowed", **context)
                return web.Response(status=403, text="origin not allowed")
            who = signed_in(request)
            if who is None:
                log.warning("codec request refused", reason="no valid token", **context)
                return cors(request, web.Response(status=401, text="a valid codec token is required"))
            context["by"] = who
            if not decode and who != "sealing-token":
                reason = "sealing needs the encode token" if sealing_token else "sealing is not enabled"
                log.warning("codec request refused", reason=reason, **context)
                return cors(
                    request,
                    web.Response(status=403, text=f"{reason}: the token to read payloads does not seal them"),
                )
            if decode and who == "sealing-token":
                log.warning("codec request refused", reason="encode token used to read", **context)
                return cors(request, web.Response(status=403, text="the encode token does not read payloads"))
            try:
                payloads = parse_payloads(await request.read())
            except BadRequest as err:
                log.warning("codec request refused", reason=str(err), **context)
                return cors(request, web.Response(status=400, text=str(err)))
            if decode:
                coded, failures = decode_each(codec, payloads)
            else:
                coded, failures = codec.seal(payloads, "", ENCODED_HERE), []
            log.info(
                "codec request",
                payloads=len(payloads),
                failed=len(failures),
                first_failure=failures[0] if failures else None,
                **context,
            )
            if failures and len(failures) == len(payloads):
                reason = failures[0] if len(failures) == 1 else f"none of {len(failures)} payloads opens: {failures[0]}"
                return cors(request, web.Response(status=400, text=reason))
            body = json_format.MessageToJson(Payloads(payloads=coded))
            response = web.Response(text=body, content_type="application/json")
            response.headers[UNDECODED_HEADER] = str(len(failures))
            return cors(request, response)

        return handle

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("OPTIONS", "/decode", options)
    app.router.add_route("OPTIONS", "/encode", options)
    app.router.add_post("/decode", handler(decode=True))
    app.router.add_post("/encode", handler(decode=False))
    from worker.codec_probes import add_probes  # /healthz, /readyz: no token

    add_probes(app)
    return app


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` in the running event loop (`cpplan dev`); returns the runner to clean up and
    the port bound (`port` 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None)  # its access log would write each request line
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    return runner, (sockets[0].getsockname()[1] if sockets else port)


def ui_origins() -> tuple[str, ...]:
    return tuple(filter(None, os.environ.get("CPPLAN_UI_ORIGIN", ",".join(DEFAULT_ORIGINS)).split(",")))


def serve(host: str = "127.0.0.1", port: int = 8081) -> None:
    from worker.logging import configure_logging

    configure_logging()
    keyring = load_keyring()
    token = codec_token()
    if keyring is None or not token:
        raise SystemExit(
            "codec-server: no keys or token (set CPPLAN_CODEC_KEYS and CPPLAN_CODEC_TOKEN, or run `cpplan dev` once)"
        )
    sealing = encode_token()
    if sealing is not None and hmac.compare_digest(sealing.encode(), token.encode()):
        raise SystemExit("codec-server: CPPLAN_CODEC_ENCODE_TOKEN must differ from the token that reads payloads")
    ops_user = ops_verifier_from_env()
    log.info(
        "codec server listening", host=host, port=port, signed_in_ops=ops_user is not None, seals=sealing is not None
    )
    app = build_app(ServerCodec(keyring), token, ui_origins(), ops_user=ops_user, sealing_token=sealing)
    # access_log=None: aiohttp's access log would write each request line.
    web.run_app(app, host=host, port=port, print=None, access_log=None)


def ops_verifier_from_env() -> OpsVerifier | None:
    """With an identity provider configured (CPPLAN_OIDC_ISSUER and its keys, as for
    `cpplan serve`), the Temporal UI's own access token of a person with the `ops` role opens
    payloads too (the UI's `pass-access-token`); nobody else's does. The token is checked as
    the front door checks it (worker/identity.py)."""
    if not os.environ.get("CPPLAN_OIDC_ISSUER", "").strip():
        return None
    env = os.environ
    jwks_file = env.get("CPPLAN_OIDC_JWKS_FILE", "").strip()
    settings = IssuerSettings(
        issuer=env["CPPLAN_OIDC_ISSUER"].strip(),
        # The UI's access token may be issued for another audience than the API's.
        audience=(env.get("CPPLAN_CODEC_OIDC_AUDIENCE") or env.get("CPPLAN_OIDC_AUDIENCE") or DEFAULT_AUDIENCE).strip(),
        jwks_url=env.get("CPPLAN_OIDC_JWKS_URL", "").strip() or None,
        jwks_file=Path(jwks_file) if jwks_file else None,
        staff_claim=env.get("CPPLAN_OIDC_STAFF_CLAIM", "").strip() or "staff_id",
    )
    verifier = TokenVerifier(settings)

    def ops_user(bearer_token: str) -> str | None:
        try:
            person = verifier.verify(bearer_token)
        except NotSignedIn:
            return None
        return person.staff_id if person.has("ops") else None

    return ops_user
