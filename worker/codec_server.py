"""`cpplan codec-server`: lets the Temporal UI show decrypted payloads to ops staff with a token.

The UI posts payloads to `<endpoint>/decode` (and `/encode`). The endpoint is either
`http://host:port` with the token sent as `Authorization: Bearer <token>`, or
`http://host:port/<token>` for UIs that send no credentials. Cross-origin requests are
allowed from the UI's origin only (CPPLAN_UI_ORIGIN, default http://localhost:8233).
"""

from __future__ import annotations

import hmac
import json
import os

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from worker.codec import EncryptionCodec, key_file, load_keyring

DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")


def codec_token() -> str | None:
    token = os.environ.get("CPPLAN_CODEC_TOKEN")
    if token:
        return token
    path = key_file()
    if path.exists():
        return json.loads(path.read_text()).get("codec_token")
    return None


def build_app(codec: EncryptionCodec, token: str, origins: tuple[str, ...]) -> web.Application:
    def cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, X-Namespace"
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    def authorised(request: web.Request) -> bool:
        given = (
            request.match_info.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        )
        return bool(given) and hmac.compare_digest(given, token)

    async def options(request: web.Request) -> web.StreamResponse:
        return cors(request, web.Response())

    def handler(decode: bool):
        async def handle(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Origin") and request.headers["Origin"] not in origins:
                return web.Response(status=403, text="origin not allowed")
            if not authorised(request):
                return cors(request, web.Response(status=401, text="a valid codec token is required"))
            payloads = json_format.Parse(await request.read(), Payloads())
            coded = await (codec.decode(payloads.payloads) if decode else codec.encode(payloads.payloads))
            body = json_format.MessageToJson(Payloads(payloads=coded))
            return cors(request, web.Response(text=body, content_type="application/json"))

        return handle

    app = web.Application(client_max_size=4 * 1024 * 1024)
    for prefix in ("", "/{token}"):
        app.router.add_route("OPTIONS", prefix + "/decode", options)
        app.router.add_route("OPTIONS", prefix + "/encode", options)
        app.router.add_post(prefix + "/decode", handler(decode=True))
        app.router.add_post(prefix + "/encode", handler(decode=False))
    return app


def serve(host: str = "127.0.0.1", port: int = 8081) -> None:
    keyring = load_keyring()
    token = codec_token()
    if keyring is None or not token:
        raise SystemExit(
            "codec-server: no keys or token (set CPPLAN_CODEC_KEYS and CPPLAN_CODEC_TOKEN, or run `cpplan dev` once)"
        )
    origins = tuple(filter(None, os.environ.get("CPPLAN_UI_ORIGIN", ",".join(DEFAULT_ORIGINS)).split(",")))
    web.run_app(build_app(EncryptionCodec(keyring), token, origins), host=host, port=port, print=None)
