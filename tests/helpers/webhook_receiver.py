"""A case system's webhook receiver, for the events tests: a real HTTP server on loopback that
checks each request as a receiver following Standard Webhooks would, with that package's own
verifier, and reads the body as a CloudEvent with the CloudEvents package's own parser.

It answers what `answer` says (200 by default; a status code, or `hold` to take the request and
never answer, as a receiver that hangs), keeps every verified request in `received`, and counts
the ones it refused (a bad signature) in `refused`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_structured_event
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

HOLD = -1


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    webhook_id: str
    event: BaseCloudEvent
    headers: dict[str, str]
    body: bytes = b""  # as posted

    @property
    def type(self) -> str:
        return self.event.get_type()

    @property
    def data(self) -> Any:
        return self.event.get_data()


@dataclass
class Receiver:
    secret: str = field(default_factory=new_secret)
    port: int = field(default_factory=free_port)
    answer: Callable[[Received], int] = lambda _: 200
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cpplan/events?token=not-for-logs"

    def env(self, suffix: str = "") -> dict[str, str]:
        return {f"CPPLAN_WEBHOOK_URL{suffix}": self.url, f"CPPLAN_WEBHOOK_SECRET{suffix}": self.secret}

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = dict(request.headers)
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            self.refused += 1
            return web.Response(status=401)
        event = from_structured_event(HTTPMessage(headers={k.lower(): v for k, v in headers.items()}, body=body))
        got = Received(webhook_id=request.headers["webhook-id"], event=event, headers=headers, body=body)
        self.received.append(got)
        status = self.answer(got)
        if status == HOLD:
            await asyncio.Event().wait()  # never answers; the sender gives up or dies
        return web.Response(status=status)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/cpplan/events", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def ids(self, event_type: str | None = None) -> list[str]:
        return [r.webhook_id for r in self.received if event_type is None or r.type == event_type]

    def types(self) -> list[str]:
        return [r.type for r in self.received]


@contextlib.asynccontextmanager
async def receiving_events(monkeypatch: Any) -> AsyncIterator[Receiver]:
    """A receiver configured as the webhook endpoint, with the real delivery loop posting to it
    (polling every 0.1 s) for as long as the block runs; both stopped after it."""
    from worker.event_delivery import EventDelivery

    receiver = await Receiver().start()
    for name, value in receiver.env().items():
        monkeypatch.setenv(name, value)
    stop = asyncio.Event()
    delivery = asyncio.create_task(EventDelivery(poll=0.1).run(stop))
    try:
        yield receiver
    finally:
        stop.set()
        await asyncio.wait_for(delivery, 15)
        await receiver.stop()
