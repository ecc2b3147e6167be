"""Who is asking: an OpenID Connect bearer token checked against the issuer's keys.

The token's signature (issuer's JWKS), issuer, audience and expiry are checked; the staff id
comes from one claim (`CPPLAN_OIDC_STAFF_CLAIM`, default `staff_id`) and the roles from `roles`,
which must be a list of strings.
A person is never who the request body says they are.

One check for every process that lets people in: the web front door (starters/web) and the
codec server (worker/codec_server.py), which opens payloads for the `ops` role. It sits in the
worker layer, the lowest both can import.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

DEFAULT_AUDIENCE = "cpplan"
ROLES = ("case-system", "social-worker", "team-manager", "service-manager", "head-of-service", "ops")
MANAGER_ROLES = frozenset({"team-manager", "service-manager", "head-of-service"})
# Who may put right an ending recorded in error (`reopen_plan`), on the plans they manage.
SERVICE_MANAGER_ROLES = frozenset({"service-manager", "head-of-service"})
# Roles that may send a plan messages; `ops` reads only.
WRITING_ROLES = frozenset(ROLES) - {"ops"}
# Roles that may see any plan; the others see the plans they lead or manage.
ANY_PLAN_ROLES = frozenset({"case-system", "ops", "service-manager", "head-of-service"})
STAFF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


@dataclass(frozen=True)
class IssuerSettings:
    """Whose tokens are accepted and how one names the person: the OpenID Connect issuer, the
    audience, the issuer's keys (a JWKS URL or file) and the claim that holds the staff id. The
    web front door's settings extend these (starters/web/settings.py)."""

    issuer: str
    audience: str
    jwks_url: str | None
    jwks_file: Path | None
    staff_claim: str


class NotSignedIn(Exception):
    """No usable credentials; the message says why without repeating the token."""


@dataclass(frozen=True)
class Identity:
    staff_id: str
    roles: frozenset[str]

    @property
    def manager(self) -> bool:
        return bool(self.roles & MANAGER_ROLES)

    @property
    def writes(self) -> bool:
        """Holds a role that may send a plan messages (`ops` alone never does)."""
        return bool(self.roles & WRITING_ROLES)

    @property
    def person(self) -> bool:
        """Signed in as a member of staff rather than only as a case system."""
        return bool(self.roles - {"case-system"})

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def as_session(self, session_id: str) -> dict[str, Any]:
        """What the session cookie keeps: the person, their roles and the session's id (which
        sign-out revokes, starters/web/sessions.py)."""
        return {"staff_id": self.staff_id, "roles": sorted(self.roles), "session_id": session_id}

    @classmethod
    def from_session(cls, data: Any) -> tuple[Identity, str] | None:
        """The person and the session id; None for a session without both."""
        if not isinstance(data, dict) or not isinstance(data.get("staff_id"), str):
            return None
        session_id, roles = data.get("session_id"), data.get("roles")
        if not isinstance(session_id, str) or not session_id or not isinstance(roles, list):
            return None
        return cls(data["staff_id"], frozenset(r for r in roles if r in ROLES)), session_id


def identity_from_claims(claims: dict[str, Any], staff_claim: str) -> Identity:
    staff_id = claims.get(staff_claim)
    if not isinstance(staff_id, str) or not STAFF_ID.fullmatch(staff_id):
        raise NotSignedIn(f"the token has no usable {staff_claim!r} claim")
    raw = claims.get("roles", [])
    # A list of strings and nothing else: an object's keys, a string's letters or a number must
    # never be read as roles (`{"team-manager": false}` is no manager).
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise NotSignedIn("the token's 'roles' claim must be a list of strings")
    roles = frozenset(r for r in raw if r in ROLES)
    if not roles:
        raise NotSignedIn(f"the token gives none of the roles {', '.join(ROLES)}")
    return Identity(staff_id, roles)


class TokenVerifier:
    """Checks bearer tokens; keys come from the JWKS URL (cached by PyJWT) or file."""

    def __init__(self, settings: IssuerSettings):
        self.settings = settings
        self._client = PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None
        self._lock = threading.Lock()
        self._file_keys: PyJWKSet | None = None

    def _file_key(self, kid: str | None) -> Any:
        assert self.settings.jwks_file is not None
        for attempt in range(2):  # a key not found: the file may have been rotated, read it again
            with self._lock:
                if self._file_keys is None or attempt:
                    self._file_keys = PyJWKSet.from_dict(json.loads(self.settings.jwks_file.read_text()))
                keys = self._file_keys.keys
            for key in keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise NotSignedIn("the token is not signed by a key of the configured issuer")

    def verify(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> Identity:
        """A bearer token (audience: this API), or an ID token from the sign-in (audience: the
        pages' client id, with the nonce the sign-in sent)."""
        try:
            if self._client is not None:
                key = self._client.get_signing_key_from_jwt(token).key
            else:
                key = self._file_key(jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=audience or self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
            if nonce is not None and claims.get("nonce") != nonce:
                raise NotSignedIn("the sign-in answer does not match the request")
        except jwt.ExpiredSignatureError:
            raise NotSignedIn("the token has expired") from None
        except jwt.PyJWTError as err:
            raise NotSignedIn(f"the token was not accepted: {type(err).__name__}") from None
        return identity_from_claims(claims, self.settings.staff_claim)


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
