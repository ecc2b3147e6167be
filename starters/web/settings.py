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

DEV_ISSUER = "cpplan-dev"
DEFAULT_AUDIENCE = "cpplan"
DEFAULT_DEADLINE_S = 30.0
DEV_DIR = PROJECT_ROOT / ".data"


class SettingsError(Exception):
    """The configuration cannot work; the message says which variable to set."""


def production() -> bool:
    return os.environ.get("CPPLAN_ENV", "").strip().lower() == "production"


@dataclass(frozen=True)
class WebSettings:
    issuer: str
    audience: str
    jwks_url: str | None
    jwks_file: Path | None
    staff_claim: str
    session_secret: str
    deadline_s: float
    dev_key: bool  # tokens are signed by the local development key
    # The pages' sign-in with the issuer (authorization code flow); unset: development sign-in only.
    client_id: str | None = None
    client_secret: str | None = None
    public_url: str | None = None  # where people reach this server, for the redirect back

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
        )
