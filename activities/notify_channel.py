"""GOV.UK Notify as a channel (`notifications-python-client`, blocking: call from a thread).

Settings, from the environment:
- `CPPLAN_NOTIFY_API_KEY`: the service's API key; setting it selects the channel;
- `CPPLAN_NOTIFY_BASE_URL`: where the API is (default GOV.UK Notify's own; a local stand-in,
  starters/notify_standin.py, in `cpplan dev` and the tests);
- `CPPLAN_NOTIFY_TEMPLATE_REMINDER`, `..._ESCALATION`, `..._LETTER`, `..._ALERT`: the e-mail
  template for each kind of message, and `CPPLAN_NOTIFY_TEMPLATE_SMS` the text message sent too
  for an urgent alert (a missing child, action with the police).

Every template gets the same personalisation (PERSONALISATION): opaque references, dates and
the message's fixed words only. The plan itself holds no child's name (only the case system's
reference), so none can leave the authority through a template.

Notify's `reference` is the outbox's (activities/channels.py `reference`), so a message can be
found again after a crash (`find`). Errors: a 400 (a bad address, an unknown template) is
permanent, reported and not retried; a 403 is our key, a configuration error; a 429 (rate
limit) and any 5xx or connection failure are transient, retried with backoff.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from activities.channels import Channel, ChannelConfigError, Medium
from activities.mail import PermanentDeliveryError, TransientDeliveryError, redact
from workflows.engine import Notification

DEFAULT_BASE_URL = "https://api.notifications.service.gov.uk"
TIMEOUT_S = 10
KINDS = ("reminder", "escalation", "letter", "alert")
# What each template may use, in ((double brackets)): README, "GOV.UK Notify".
PERSONALISATION = ("plan_ref", "kind", "topic", "obligation_ref", "subject", "body", "sent_on", "message_ref")
# GOV.UK Notify's final statuses: one of the failures means the person was not told.
DELIVERED = "delivered"
FAILED_STATUSES = ("permanent-failure", "temporary-failure", "technical-failure")


@dataclass(frozen=True)
class NotifySettings:
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    templates: dict[str, str] = field(default_factory=dict)  # kind (or "sms") -> template id


def notify_settings_from_env() -> NotifySettings | None:
    """None when `CPPLAN_NOTIFY_API_KEY` is unset."""
    key = os.environ.get("CPPLAN_NOTIFY_API_KEY", "").strip()
    if not key:
        return None
    # The client reads the service id and secret from the key's last 73 characters.
    if len(key) < 74:
        raise ChannelConfigError("CPPLAN_NOTIFY_API_KEY is not a GOV.UK Notify API key")
    templates = {
        kind: value
        for kind in (*KINDS, "sms")
        if (value := os.environ.get(f"CPPLAN_NOTIFY_TEMPLATE_{kind.upper()}", "").strip())
    }
    base_url = os.environ.get("CPPLAN_NOTIFY_BASE_URL", "").strip() or DEFAULT_BASE_URL
    return NotifySettings(api_key=key, base_url=base_url, templates=templates)


def personalisation(n: Notification, reference: str) -> dict[str, str]:
    return {
        "plan_ref": n.plan_id,
        "kind": n.kind,
        "topic": n.topic or n.kind,
        "obligation_ref": n.obligation_id or "",
        "subject": n.subject,
        "body": n.body,
        "sent_on": n.created_at.date().isoformat(),
        "message_ref": reference,
    }


def _reason(err: APIError) -> str:
    """Notify's own words (its `errors` list), without any address it may echo."""
    message = err.message
    if isinstance(message, list):
        text = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in message)
    else:
        text = str(message)
    return redact(" ".join(text.split()))[:200]


def classify(err: APIError) -> Exception:
    """The delivery error a Notify error is: 400s permanent, 403 our settings, 429 and 5xx (and
    a connection that failed, which the client reports as 503) transient."""
    code = err.status_code
    reason = f"GOV.UK Notify {code}: {_reason(err)}"
    if code in (401, 403):
        return ChannelConfigError(reason)
    if code == 429 or code >= 500:
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)


class NotifyChannel(Channel):
    name = "notify"
    confirms = True
    can_find = True

    def __init__(self, settings: NotifySettings):
        self.settings = settings
        self._client: NotificationsAPIClient | None = None

    @property
    def client(self) -> NotificationsAPIClient:
        if self._client is None:
            self._client = NotificationsAPIClient(
                self.settings.api_key, base_url=self.settings.base_url, timeout=TIMEOUT_S
            )
        return self._client

    def media(self, n: Notification) -> list[Medium]:
        found: list[Medium] = ["email"] if n.to_email else []
        if n.urgent and n.to_mobile:
            found.append("sms")
        return found

    def _template(self, n: Notification, medium: Medium) -> str:
        name = "sms" if medium == "sms" else n.kind
        template = self.settings.templates.get(name)
        if not template:
            raise ChannelConfigError(f"CPPLAN_NOTIFY_TEMPLATE_{name.upper()} is not set")
        return template

    def send(self, n: Notification, medium: Medium, reference: str) -> str | None:
        template = self._template(n, medium)
        fields = personalisation(n, reference)
        try:
            if medium == "sms":
                answer = self.client.send_sms_notification(
                    phone_number=n.to_mobile, template_id=template, personalisation=fields, reference=reference
                )
            else:
                answer = self.client.send_email_notification(
                    email_address=n.to_email, template_id=template, personalisation=fields, reference=reference
                )
        except APIError as err:
            raise classify(err) from None
        return str(answer["id"]) if isinstance(answer, dict) and answer.get("id") else None

    def find(self, reference: str, medium: Medium) -> str | None:
        try:
            answer = self.client.get_all_notifications(reference=reference)
        except APIError as err:
            failure = classify(err)
            # Not knowing whether it was sent, it must not be sent: ask again later.
            raise TransientDeliveryError(str(failure)) from None
        for found in (answer or {}).get("notifications", []):
            if found.get("reference") == reference:
                return str(found["id"])
        return None

    def status(self, provider_id: str) -> dict[str, Any]:
        """Notify's record of one message (its `status`, `completed_at`, ...)."""
        try:
            answer: dict[str, Any] = self.client.get_notification_by_id(provider_id)
        except APIError as err:
            raise classify(err) from None
        return answer

    def close(self) -> None:
        if self._client is not None:
            self._client.request_session.close()
            self._client = None
