"""A local OpenID Connect issuer for the production rehearsal (scripts/rehearse-production.sh):
its own RSA key, its JWKS and discovery document served over HTTP on loopback, and tokens for
the people and case systems of the rehearsal, signed with that key (what a council's identity
provider does; no development key is involved).

    python -m tests.rehearsal.oidc_issuer --port 20690   # serves until Ctrl-C, prints its JWKS URL
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "cpplan"
TOKEN_LIFETIME_S = 900


class Issuer:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"rehearsal-{uuid.uuid4().hex[:8]}"
        self.url = f"http://{host}:{port}"
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        self.jwks_url = f"{self.url}/jwks.json"
        self.requests = 0
        documents = {
            "/jwks.json": self.jwks,
            "/.well-known/openid-configuration": {"issuer": self.url, "jwks_uri": self.jwks_url},
        }
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests += 1
                document = documents.get(self.path)
                body = json.dumps(document).encode() if document is not None else b"{}"
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Issuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(self, staff_id: str, *roles: str, audience: str = AUDIENCE, lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": staff_id,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime_s,
            "staff_id": staff_id,
            "roles": list(roles),
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    issuer = Issuer(args.port).start()
    print(f"issuer {issuer.url}; JWKS {issuer.jwks_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        issuer.stop()


if __name__ == "__main__":
    main()
