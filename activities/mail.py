"""Sending one notification as an e-mail over SMTP (stdlib `smtplib`, blocking: call from a thread).

`CPPLAN_SMTP_URL` says where: `smtp://host:port`, `smtp://user:pass@host:port`,
`smtps://host:465`, with optional `?starttls=1&from=cpplan@example.org&timeout=10&helo=name`.

Every failure is sorted into one of three kinds, because the caller treats them differently:
- `PermanentDeliveryError`: this message can never go (address refused with 5xx, a malformed
  address); record it and tell a person, retrying is pointless;
- `TransientDeliveryError`: the server is down, busy or said 4xx; retry later;
- `SmtpConfigError` (a transient kind): our own settings are wrong (login or sender refused);
  retrying is right once someone fixes the configuration, and it affects every message alike.

Error texts never carry an e-mail address: they end up in logs, in the plan's history and in
the warning sent to a manager.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

from workflows.engine import Notification

DEFAULT_SENDER = "cpplan@localhost"
DEFAULT_TIMEOUT_S = 10.0
_ADDRESS = re.compile(r"[^\s<>@,;:\"']+@[^\s<>@,;:\"']+")
_ADDRESS_IN_TEXT = re.compile(r"<?[^\s<>@,;:\"'()\[\]]+@[^\s<>@,;:\"'()\[\]]+>?")


class DeliveryError(Exception):
    """A message that did not go; `str()` is safe to log (no addresses)."""


class PermanentDeliveryError(DeliveryError):
    pass


class TransientDeliveryError(DeliveryError):
    pass


class SmtpConfigError(TransientDeliveryError):
    pass


def redact(text: str) -> str:
    """Servers often echo the address they refuse; keep only what is safe to pass on."""
    return _ADDRESS_IN_TEXT.sub("<address>", text)


def message_id(key: str) -> str:
    """The same notification always gets the same Message-ID, so a resend after a crash between
    the server's 250 and our own record can be recognised as a duplicate by the receiver."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@cpplan>"


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    use_ssl: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = DEFAULT_SENDER
    timeout: float = DEFAULT_TIMEOUT_S
    helo: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        # Messages name no part of the URL: it may hold a password.
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise SmtpConfigError("CPPLAN_SMTP_URL: scheme must be smtp:// or smtps://")
        if not parts.hostname:
            raise SmtpConfigError("CPPLAN_SMTP_URL: no host")
        try:
            port = parts.port
        except ValueError:
            raise SmtpConfigError("CPPLAN_SMTP_URL: the port is not a number") from None
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        use_ssl = parts.scheme == "smtps"
        try:
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT_S))
        except ValueError:
            raise SmtpConfigError("CPPLAN_SMTP_URL: timeout is not a number") from None
        return cls(
            host=parts.hostname,
            port=port or (465 if use_ssl else 25),
            use_ssl=use_ssl,
            starttls=_flag(query.get("starttls", "0")),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            sender=query.get("from", DEFAULT_SENDER),
            timeout=timeout,
            helo=query.get("helo") or None,
        )


def smtp_settings_from_env() -> SmtpSettings | None:
    """None when `CPPLAN_SMTP_URL` is unset: notifications are then only recorded."""
    url = os.environ.get("CPPLAN_SMTP_URL", "").strip()
    return SmtpSettings.from_url(url) if url else None


def build_message(notification: Notification, sender: str) -> EmailMessage:
    address = notification.to_email or ""
    if not _ADDRESS.fullmatch(address.strip()):
        raise PermanentDeliveryError("malformed e-mail address")
    msg = EmailMessage()
    try:
        msg["From"] = sender
        msg["To"] = address.strip()
        msg["Subject"] = notification.subject
        msg["Message-ID"] = message_id(notification.key)
        msg["Date"] = format_datetime(notification.created_at)
        # RFC 3834: out-of-office replies must not answer an automatic message.
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(notification.body)
    except ValueError as err:  # a header with a line break, for one
        raise PermanentDeliveryError(f"message cannot be built: {redact(str(err))}") from None
    return msg


def _server_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return redact(" ".join(text.split()))[:200]


class Mailer:
    """One SMTP connection, opened on the first send and reused for a batch. Not thread-safe:
    use it from one thread at a time."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(self, notification: Notification) -> None:
        msg = build_message(notification, self.settings.sender)
        smtp = self._connection()
        try:
            smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[msg["To"]])
        except smtplib.SMTPRecipientsRefused as err:
            code, text = next(iter(err.recipients.values()), (0, b""))
            self._refused(code, f"recipient refused: {_server_text(text)}")
        except smtplib.SMTPSenderRefused as err:
            self._drop()
            if err.smtp_code >= 500:
                raise SmtpConfigError(f"SMTP {err.smtp_code} sender refused: {_server_text(err.smtp_error)}") from None
            raise TransientDeliveryError(
                f"SMTP {err.smtp_code} sender deferred: {_server_text(err.smtp_error)}"
            ) from None
        except smtplib.SMTPDataError as err:
            self._refused(err.smtp_code, f"message refused: {_server_text(err.smtp_error)}")
        except smtplib.SMTPNotSupportedError:
            # send_message raises this only for a non-ASCII address the server cannot take.
            raise PermanentDeliveryError("address needs SMTPUTF8, which the server does not support") from None
        except smtplib.SMTPResponseException as err:
            self._drop()
            raise TransientDeliveryError(f"SMTP {err.smtp_code}: {_server_text(err.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as err:
            self._drop()
            raise TransientDeliveryError(f"SMTP connection lost: {type(err).__name__}") from None

    def _refused(self, code: int, reason: str) -> None:
        if code >= 500:
            raise PermanentDeliveryError(f"SMTP {code} {reason}")
        raise TransientDeliveryError(f"SMTP {code} {reason}")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, local_hostname=s.helo, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.helo, timeout=s.timeout)
        except smtplib.SMTPConnectError as err:
            raise TransientDeliveryError(f"SMTP {err.smtp_code} on connect: {_server_text(err.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as err:
            raise TransientDeliveryError(f"SMTP server unreachable: {type(err).__name__}") from None
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as err:
            smtp.close()
            raise SmtpConfigError(f"SMTP session refused our settings: {type(err).__name__}") from None
        except (smtplib.SMTPException, OSError) as err:
            smtp.close()
            raise TransientDeliveryError(f"SMTP session failed: {type(err).__name__}") from None
        return smtp

    def _drop(self) -> None:
        """After an error the session state is unknown: never reuse it."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the messages are already accepted; a failed goodbye changes nothing
        finally:
            self._smtp.close()
            self._smtp = None
