"""The ways a notification can go: one `Channel` interface, one adapter per transport.

The `notify` activity (activities/notify.py) knows only this interface; which channels a
worker has comes from its environment (`configured_channels`):
- `smtp` (`CPPLAN_SMTP_URL`): e-mail through the authority's mail server (activities/mail.py);
- `notify` (`CPPLAN_NOTIFY_API_KEY`): GOV.UK Notify, e-mail for every message and a text
  message too for an urgent one (activities/notify_channel.py), with delivery receipts.
With neither, notifications are only recorded (the outbox and the log).

A channel says which media it can reach a notification's person by (`media`), sends one
(`send`, under a `reference` the outbox derives from the notification's key), and, where the
service keeps what it was sent, finds a message again by that reference (`find`): so a
worker that died between the service's acceptance and its own record asks before sending
again, and sends nothing twice.

Every failure is a `mail.PermanentDeliveryError` (this message can never go: record it, tell
a person), a `mail.TransientDeliveryError` (retry later) or a `ChannelConfigError` (our own
settings are wrong; retry once someone fixes them). Error texts never carry an address.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar, Literal

from activities.mail import Mailer, SmtpConfigError, TransientDeliveryError, smtp_settings_from_env
from workflows.engine import Notification

Medium = Literal["email", "sms"]


class ChannelConfigError(TransientDeliveryError):
    """A channel's settings are wrong: every message is affected alike."""


class Channel(ABC):
    """One transport. Not thread-safe: the activity uses one from one thread at a time."""

    name: ClassVar[str]
    # Whether the service reports delivery later (a receipt): the outbox then waits for it.
    confirms: ClassVar[bool] = False
    # Whether `find` can answer: only then is a message the outbox may have sent looked for.
    can_find: ClassVar[bool] = False

    @abstractmethod
    def media(self, n: Notification) -> list[Medium]:
        """How this channel can reach the notification's person; empty if it cannot."""

    @abstractmethod
    def send(self, n: Notification, medium: Medium, reference: str) -> str | None:
        """Hand the message over; the service's id for it, where it gives one."""

    def find(self, reference: str, medium: Medium) -> str | None:
        """The service's id of a message already sent under `reference`, if it has one."""
        return None

    def close(self) -> None:
        """Let go of connections; what was sent stays sent."""
        return None


def reference(key: str, channel: str, medium: str) -> str:
    """What a channel is given to find a notification by: derived from the outbox key (so the
    same notification always has the same one) but not the key itself, which names people."""
    return f"cpplan-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}-{channel}-{medium}"


class SmtpChannel(Channel):
    """E-mail over SMTP. The server's 250 is all it learns: a message it accepted is `sent`
    (bounces are not read), and its Message-ID (from the key) lets a receiver drop the one copy
    a crash between the 250 and our record can cause."""

    name = "smtp"

    def __init__(self, mailer: Mailer):
        self.mailer = mailer

    def media(self, n: Notification) -> list[Medium]:
        return ["email"] if n.to_email else []

    def send(self, n: Notification, medium: Medium, reference: str) -> str | None:
        self.mailer.send(n)
        return None

    def close(self) -> None:
        self.mailer.close()


def configured_channels() -> list[Channel]:
    """The worker's channels from its environment, in order of preference: GOV.UK Notify
    first (it says whether a message was delivered), then SMTP. Raises `ChannelConfigError` (or
    `SmtpConfigError`) when one is set but wrong."""
    from activities.notify_channel import NotifyChannel, notify_settings_from_env

    found: list[Channel] = []
    notify = notify_settings_from_env()
    if notify is not None:
        found.append(NotifyChannel(notify))
    smtp = smtp_settings_from_env()
    if smtp is not None:
        found.append(SmtpChannel(Mailer(smtp)))
    return found


def routes(channels: list[Channel], n: Notification) -> list[tuple[Channel, Medium]]:
    """Every (channel, medium) the notification goes by: the first channel, in order of
    preference, that can reach its person, by every medium it can. A warning that a message was
    not delivered avoids the channel that failed, where another can reach the person."""
    ordered = [c for c in channels if c.name not in n.avoid] + [c for c in channels if c.name in n.avoid]
    for channel in ordered:
        media = channel.media(n)
        if media:
            return [(channel, medium) for medium in media]
    return []


__all__ = [
    "Channel",
    "ChannelConfigError",
    "Medium",
    "SmtpChannel",
    "SmtpConfigError",
    "configured_channels",
    "reference",
    "routes",
]
