"""The web front door's configuration, read once from the environment.

Tokens are checked against one OpenID Connect issuer: its JWKS comes from `CPPLAN_OIDC_JWKS_URL`
or a local file (`CPPLAN_OIDC_JWKS_FILE`). With neither set, the development key made by
`cpplan dev` is used, and only outside production.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from activities.db import PROJECT_ROOT
from worker.identity import DEFAULT_AUDIENCE, IssuerSettings

DEV_ISSUER = "cpplan-dev"
DEFAULT_DEADLINE_S = 30.0
# Request bodies: the largest start document is a few kilobytes, so 256 KB leaves room while a
# flood of large bodies is refused before it is read (CPPLAN_WEB_MAX_BODY, bytes).
DEFAULT_MAX_BODY = 256 * 1024
# How deeply JSON may nest: the deepest document the API takes nests four levels.
DEFAULT_MAX_JSON_DEPTH = 32
# Requests a minute from one address, and from one signed-in person or case system; failed
# sign-ins and bad tokens from one address in ten minutes (RATE_SETTINGS, README "Limits").
DEFAULT_RATE_PER_ADDRESS = 1200
DEFAULT_RATE_PER_IDENTITY = 600
DEFAULT_FAILED_SIGN_INS = 30
DEV_DIR = PROJECT_ROOT / ".data"


class SettingsError(Exception):
    """The configuration cannot work; the message says which variable to set."""


def production() -> bool:
    return os.environ.get("CPPLAN_ENV", "").strip().lower() == "production"


@dataclass(frozen=True)
class WebSettings(IssuerSettings):
    """The issuer's settings (issuer, audience, jwks_url, jwks_file, staff_claim, in that order)
    and the front door's own."""

    session_secret: str
    deadline_s: float
    dev_key: bool  # tokens are signed by the local development key
    # The pages' sign-in with the issuer (authorization code flow); unset: development sign-in only.
    client_id: str | None = None
    client_secret: str | None = None
    public_url: str | None = None  # where people reach this server, for the redirect back
    max_body: int = DEFAULT_MAX_BODY
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    rate_per_address: int = DEFAULT_RATE_PER_ADDRESS  # a minute; 0: no limit
    rate_per_identity: int = DEFAULT_RATE_PER_IDENTITY  # a minute; 0: no limit
    failed_sign_ins: int = DEFAULT_FAILED_SIGN_INS  # in ten minutes, per address; 0: no limit

    @classmethod
    def from_env(cls, dev_dir: Path = DEV_DIR) -> WebSettings:
        env = os.environ
        issuer = env.get("CPPLAN_OIDC_ISSUER", "").strip()
        jwks_url = env.get("CPPLAN_OIDC_JWKS_URL", "").strip() or None
        jwks_file = env.get("CPPLAN_OIDC_JWKS_FILE", "").strip() or None
        dev_key = not (issuer or jwks_url or jwks_file)
        if dev_key:
            if production():
                raise SettingsError(
                    "set CPPLAN_OIDC_ISSUER and CPPLAN_OIDC_JWKS_URL: the development key is not used in production"
                )
            from starters.web.devkey import ensure_dev_key

            issuer, jwks_file = DEV_ISSUER, str(ensure_dev_key(dev_dir).jwks_path)
        elif not issuer or not (jwks_url or jwks_file):
            raise SettingsError("set CPPLAN_OIDC_ISSUER and one of CPPLAN_OIDC_JWKS_URL, CPPLAN_OIDC_JWKS_FILE")
        secret = env.get("CPPLAN_WEB_SESSION_SECRET", "").strip()
        if not secret:
            if production():
                raise SettingsError("set CPPLAN_WEB_SESSION_SECRET (signs the pages' session cookie)")
            # Sessions then last as long as the process; fine for development.
            secret = secrets.token_urlsafe(32)
        try:
            deadline = float(env.get("CPPLAN_WEB_DEADLINE", DEFAULT_DEADLINE_S))
        except ValueError:
            raise SettingsError("CPPLAN_WEB_DEADLINE must be a number of seconds") from None
        limits = {name: _count(variable, default) for name, (variable, default) in LIMIT_SETTINGS.items()}
        if limits["max_body"] < 1024:
            raise SettingsError("CPPLAN_WEB_MAX_BODY must be at least 1024 (bytes)")
        if limits["max_json_depth"] < 8:
            raise SettingsError("CPPLAN_WEB_MAX_JSON_DEPTH must be at least 8")
        return cls(
            issuer=issuer,
            audience=env.get("CPPLAN_OIDC_AUDIENCE", "").strip() or DEFAULT_AUDIENCE,
            jwks_url=jwks_url,
            jwks_file=Path(jwks_file) if jwks_file else None,
            staff_claim=env.get("CPPLAN_OIDC_STAFF_CLAIM", "").strip() or "staff_id",
            session_secret=secret,
            deadline_s=deadline,
            dev_key=dev_key,
            client_id=env.get("CPPLAN_OIDC_CLIENT_ID", "").strip() or None,
            client_secret=env.get("CPPLAN_OIDC_CLIENT_SECRET", "").strip() or None,
            public_url=(env.get("CPPLAN_WEB_URL", "").strip().rstrip("/") or None),
            **limits,
        )


# Each limit's variable and default (README, "Limits").
LIMIT_SETTINGS = {
    "max_body": ("CPPLAN_WEB_MAX_BODY", DEFAULT_MAX_BODY),
    "max_json_depth": ("CPPLAN_WEB_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH),
    "rate_per_address": ("CPPLAN_WEB_RATE_PER_ADDRESS", DEFAULT_RATE_PER_ADDRESS),
    "rate_per_identity": ("CPPLAN_WEB_RATE_PER_IDENTITY", DEFAULT_RATE_PER_IDENTITY),
    "failed_sign_ins": ("CPPLAN_WEB_FAILED_SIGN_INS", DEFAULT_FAILED_SIGN_INS),
}


def _count(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{variable} must be a whole number") from None
    if value < 0:
        raise SettingsError(f"{variable} must be 0 or more")
    return value
