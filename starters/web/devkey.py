"""The development signing key: `cpplan dev` makes it under `.data/` (mode 0600) and the web
server publishes its public half; `cpplan dev-token` signs tokens with it. Never used in
production (`CPPLAN_ENV=production`) nor when an issuer is configured."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_FILE = "dev-oidc-key.pem"
JWKS_FILE = "dev-oidc-jwks.json"
TOKEN_LIFETIME_S = 8 * 3600


@dataclass(frozen=True)
class DevKey:
    private_pem: bytes
    kid: str
    jwks_path: Path

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid})


def ensure_dev_key(folder: Path) -> DevKey:
    """The key in `folder`, made on first use (private key 0600; the JWKS beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = folder / KEY_FILE, folder / JWKS_FILE
    if not key_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    pem = key_path.read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    public_jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
    kid = f"dev-{public_jwk['n'][:16]}"
    public_jwk.update(kid=kid, use="sig", alg="RS256")
    jwks = {"keys": [public_jwk]}
    if not jwks_path.exists() or json.loads(jwks_path.read_text()) != jwks:
        jwks_path.write_text(json.dumps(jwks, indent=2))
    return DevKey(private_pem=pem, kid=kid, jwks_path=jwks_path)


def dev_token(
    key: DevKey, staff_id: str, roles: list[str], *, issuer: str, audience: str, staff_claim: str = "staff_id"
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": staff_id,
        staff_claim: staff_id,
        "roles": roles,
        "iat": now,
        "exp": now + TOKEN_LIFETIME_S,
        "jti": uuid.uuid4().hex,
    }
    return key.sign(claims)
