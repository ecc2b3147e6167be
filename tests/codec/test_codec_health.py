"""The codec server's probes answer without a token and say nothing of any payload."""

from __future__ import annotations

import base64
import os

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from worker.codec import Keyring
from worker.codec_server import ServerCodec, build_app


async def test_codec_server_probes_need_no_token() -> None:
    keyring = Keyring.parse(f"k1:{base64.b64encode(os.urandom(32)).decode()}")
    app: web.Application = build_app(ServerCodec(keyring), "the-token", ("http://localhost:8080",))
    async with TestClient(TestServer(app)) as client:
        alive = await client.get("/healthz")
        ready = await client.get("/readyz")
        refused = await client.post("/decode", json={"payloads": []})
        assert (alive.status, await alive.json()) == (200, {"status": "alive"})
        assert (ready.status, await ready.json()) == (200, {"status": "ready", "checks": {"keys": "ok"}})
        assert refused.status == 401
