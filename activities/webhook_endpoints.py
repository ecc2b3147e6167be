"""Where events go: the webhook endpoints, from the environment (README, "Events out").

Endpoint `1` is `CPPLAN_WEBHOOK_URL` with `CPPLAN_WEBHOOK_SECRET`; more are numbered from 2:
`CPPLAN_WEBHOOK_URL_2` with `CPPLAN_WEBHOOK_SECRET_2`, and so on. Each has its own secret, in
the Standard Webhooks form `whsec_` and base64 (24 to 64 random bytes), since each receiver
verifies with its own. An endpoint is known by its number, in the database, logs and listings:
a URL may carry a token, so it is never written anywhere.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

URL_SETTING = "CPPLAN_WEBHOOK_URL"
SECRET_SETTING = "CPPLAN_WEBHOOK_SECRET"
SECRET_PREFIX = "whsec_"
_URL_SETTING = re.compile(r"^CPPLAN_WEBHOOK_URL(?:_(\w+))?$")
_VALID_NAME = re.compile(r"^(1|[2-9]|[1-9][0-9]+)$")
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64


class WebhookSettingError(ValueError):
    """A webhook setting that cannot work; names the setting, never its value."""


@dataclass(frozen=True)
class Endpoint:
    name: str  # "1", "2", ...
    url: str = field(repr=False)
    secret: str = field(repr=False)


def _settings(name: str) -> tuple[str, str]:
    suffix = "" if name == "1" else f"_{name}"
    return URL_SETTING + suffix, SECRET_SETTING + suffix


def _named(environ: Mapping[str, str]) -> dict[str, str]:
    """Each endpoint name with the setting that gives its URL (set and not blank)."""
    found = {}
    for key, value in environ.items():
        match = _URL_SETTING.match(key)
        if match is None or not value.strip():
            continue
        suffix = match.group(1)
        # `_1` is no endpoint's name: the first is the setting without a number.
        found["1" if suffix is None else ("_1" if suffix == "1" else suffix)] = key
    return found


def endpoint_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """The endpoints configured, by name, without checking their settings: what a save records
    deliveries for. A setting that cannot work fails the deliveries (`cpplan doctor` says so),
    never the save."""
    names = _named(os.environ if environ is None else environ)
    return sorted((n for n in names if _VALID_NAME.match(n)), key=int)


def _check_secret(setting: str, secret: str) -> None:
    if not secret:
        raise WebhookSettingError(f"{setting} is not set: every endpoint's events are signed with its own secret")
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookSettingError(f"{setting} must be a Standard Webhooks secret: whsec_ followed by base64")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSettingError(f"{setting}: what follows whsec_ is not base64") from None
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise WebhookSettingError(
            f"{setting} must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes, not {len(raw)}"
        )


def endpoint(name: str, environ: Mapping[str, str] | None = None) -> Endpoint:
    """One endpoint's settings, checked; WebhookSettingError names what is wrong."""
    environ = os.environ if environ is None else environ
    url_setting, secret_setting = _settings(name)
    if not _VALID_NAME.match(name):
        raise WebhookSettingError(f"{url_setting}: more endpoints are numbered from 2 ({URL_SETTING} is the first)")
    url = environ.get(url_setting, "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookSettingError(f"{url_setting} must be an http:// or https:// URL")
    secret = environ.get(secret_setting, "").strip()
    _check_secret(secret_setting, secret)
    return Endpoint(name=name, url=url, secret=secret)


def endpoints(environ: Mapping[str, str] | None = None) -> list[Endpoint]:
    """Every configured endpoint, checked (the worker refuses to start on a bad one)."""
    environ = os.environ if environ is None else environ
    found = []
    for name, setting in sorted(_named(environ).items(), key=lambda item: item[1]):
        if not _VALID_NAME.match(name):
            raise WebhookSettingError(f"{setting}: more endpoints are numbered from 2 ({URL_SETTING} is the first)")
        found.append(endpoint(name, environ))
    return sorted(found, key=lambda e: int(e.name))


def where(url: str) -> str:
    """An endpoint's address as listings may show it: scheme, host and port, no path or query."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
