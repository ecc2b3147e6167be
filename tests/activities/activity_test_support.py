"""Helpers for the activity tests: a real SMTP server to send to, and notifications to send."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from workflows.engine import Notification

# The test server's own chatter (it logs every address it is given) is not under test.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MailCollector:
    """aiosmtpd handler: keeps what it accepts; refuses (5xx) or defers (4xx) chosen addresses."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address in self.defer:
            return f"451 4.3.0 <{address}>: Temporary lookup failure"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    collector: MailCollector
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=cpplan@example.org&helo=localhost&timeout=5"

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def make_notification(
    key: str, to_email: str | None = "sw-1@example.org", plan_id: str = "P-1", **extra: Any
) -> Notification:
    values: dict[str, Any] = {
        "key": key,
        "plan_id": plan_id,
        "kind": "reminder",
        "to_id": "sw-1",
        "to_role": "lead-social-worker",
        "to_email": to_email,
        "subject": f"Statutory visit due ({key})",
        "body": "The statutory visit for plan P-1 is due on 2026-12-01.",
        "obligation_id": "visit-1",
        "created_at": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    }
    values.update(extra)
    return Notification(**values)


async def run_activity(fn: Any, arg: Any) -> Any:
    """Call an activity the way a worker would: inside an activity context."""
    from temporalio.testing import ActivityEnvironment

    return await ActivityEnvironment().run(fn, arg)
