"""A local stand-in for GOV.UK Notify's HTTP API, so `cpplan dev` and the tests send through the
official client without the real service (the only thing mocked is what is outside the machine).

It speaks the parts of Notify's API v2 cpplan uses, as `notifications-python-client` calls them:
- `POST /v2/notifications/email` and `/v2/notifications/sms`: 201 with the notification's id;
  a 400 with Notify's error shape for a bad address or a missing field;
- `GET /v2/notifications?reference=...` (and `status=`, `template_type=`): `{"notifications": [...]}`;
- `GET /v2/notifications/{id}`: one notification and its status;
- every call authenticated as Notify does: a JWT (HS256, `iss` the service id, `iat` within 30
  seconds) signed with the key's secret, checked with the client library's own decoder (403).

Like Notify, it sends a delivery receipt (the callback) to `callback_url` with the callback
bearer token: `delivered`, unless the recipient says otherwise: an address or a mobile whose
first part names a failure (`permanent-failure@...`, `technical-failure@...`,
`temporary-failure@...`) gets that status, and `no-receipt@...` never gets one.

`GET /` is a page of every message it was sent and its receipt, for a newcomer to see what went.

    python -m starters.notify_standin --port 20890 --api-key KEY [--callback-url URL --callback-token T]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

FAILURES = ("permanent-failure", "temporary-failure", "technical-failure")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^(?:\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}$")
# A sample API key for local use: `{name}-{service id}-{secret}`, as Notify issues them.
SAMPLE_KEY = "cpplan_local-11111111-2222-3333-4444-555555555555-66666666-7777-8888-9999-000000000000"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StandIn:
    """The service's state, and the cues tests give it. Thread-safe (a lock around the list)."""

    api_key: str = SAMPLE_KEY
    callback_url: str | None = None
    callback_token: str | None = None
    receipt_delay_s: float = 0.5
    messages: list[dict[str, Any]] = field(default_factory=list)
    receipts_sent: list[dict[str, Any]] = field(default_factory=list)
    # Cues: hold the 201 reply to the n-th send (it is stored, as a service that has it would)
    # until `release` is set; answer the next sends with these status codes instead.
    hold_at: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    fail_next: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def service_id(self) -> str:
        return self.api_key[-73:-37]

    @property
    def secret(self) -> str:
        return self.api_key[-36:]

    def check_token(self, header: str | None) -> str | None:
        """None when the request is signed with our key; else the error message."""
        if not header or not header.startswith("Bearer "):
            return "Unauthorized: authentication token must be provided"
        token = header.removeprefix("Bearer ").strip()
        try:
            if get_token_issuer(token) != self.service_id:
                return "Invalid token: service not found"
            decode_jwt_token(token, self.secret)
        except TokenError as err:
            return err.message
        return None

    def accept(self, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        to_field = "email_address" if kind == "email" else "phone_number"
        errors = []
        to = body.get(to_field)
        if not isinstance(to, str) or not (EMAIL if kind == "email" else MOBILE).match(to.strip()):
            errors.append(f"{to_field} Not a valid {'email address' if kind == 'email' else 'phone number'}")
        if not body.get("template_id"):
            errors.append("template_id is a required property")
        if errors:
            return 400, {
                "status_code": 400,
                "errors": [{"error": "ValidationError", "message": message} for message in errors],
            }
        with self._lock:
            if self.fail_next:
                code = self.fail_next.pop(0)
                return code, {"status_code": code, "errors": [{"error": "StandInError", "message": "as cued"}]}
            found: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "reference": body.get("reference"),
                "type": kind,
                "email_address": to if kind == "email" else None,
                "phone_number": to if kind == "sms" else None,
                "template": {"id": body["template_id"], "version": 1, "uri": ""},
                "personalisation": body.get("personalisation") or {},
                "status": "sending",
                "created_at": _now(),
                "sent_at": _now(),
                "completed_at": None,
            }
            self.messages.append(found)
            count = len(self.messages)
        self._schedule_receipt(found)
        if count == self.hold_at:
            self.holding.set()
            self.release.wait()
        fields: dict[str, Any] = found["personalisation"]
        return 201, {
            "id": found["id"],
            "reference": found["reference"],
            "content": {"subject": str(fields.get("subject", "")), "body": str(fields.get("body", ""))},
            "uri": f"/v2/notifications/{found['id']}",
            "template": found["template"],
        }

    def find(self, query: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            found = list(reversed(self.messages))
        for name, key in (("reference", "reference"), ("status", "status"), ("template_type", "type")):
            if query.get(name):
                found = [m for m in found if m.get(key) == query[name]]
        return [self._public(m) for m in found]

    def get(self, notification_id: str) -> dict[str, Any] | None:
        with self._lock:
            for m in self.messages:
                if m["id"] == notification_id:
                    return self._public(m)
        return None

    @staticmethod
    def _public(m: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in m.items() if k != "personalisation"}

    def _outcome(self, m: dict[str, Any]) -> str | None:
        first = str(m.get("email_address") or m.get("phone_number") or "").split("@")[0].lower()
        if first == "no-receipt":
            return None
        return next((f for f in FAILURES if first.startswith(f)), "delivered")

    def _schedule_receipt(self, m: dict[str, Any]) -> None:
        status = self._outcome(m)
        if status is None:
            return
        timer = threading.Timer(self.receipt_delay_s, self.complete, args=(m["id"], status))
        timer.daemon = True
        timer.start()

    def complete(self, notification_id: str, status: str) -> None:
        """Give a message its final status and send its receipt, as Notify does."""
        with self._lock:
            m = next((m for m in self.messages if m["id"] == notification_id), None)
            if m is None:
                return
            m["status"], m["completed_at"] = status, _now()
            receipt = {
                "id": m["id"],
                "reference": m["reference"],
                "to": m["email_address"] or m["phone_number"],
                "status": status,
                "created_at": m["created_at"],
                "completed_at": m["completed_at"],
                "sent_at": m["sent_at"],
                "notification_type": m["type"],
            }
        if not (self.callback_url and self.callback_token):
            return
        request = urllib.request.Request(
            self.callback_url,
            data=json.dumps(receipt).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.callback_token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                receipt["answer"] = answer.status
        except OSError as err:  # the receiver down or refusing: Notify would retry; we note it
            receipt["answer"] = getattr(err, "code", type(err).__name__)
        with self._lock:
            self.receipts_sent.append(receipt)

    def page(self) -> str:
        with self._lock:
            rows = list(reversed(self.messages))
        cells = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    m["created_at"][:19].replace("T", " "),
                    m["type"],
                    m["email_address"] or m["phone_number"],
                    m["personalisation"].get("subject", ""),
                    m["status"],
                    m["reference"],
                )
            )
            + "</tr>"
            for m in rows
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>GOV.UK Notify stand-in</title>"
            "<meta http-equiv='refresh' content='5'></head><body style='font-family:sans-serif'>"
            "<h1>GOV.UK Notify stand-in</h1><p>Every message cpplan sent through Notify's API, and the "
            f"delivery receipt sent back. {len(rows)} message(s).</p><table border='1' cellpadding='4'>"
            "<thead><tr><th>Sent</th><th>Type</th><th>To</th><th>Subject</th><th>Status</th><th>Reference</th>"
            f"</tr></thead><tbody>{cells}</tbody></table></body></html>"
        )


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the page shows what came

        def _reply(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            problem = standin.check_token(self.headers.get("Authorization"))
            if problem is None:
                return True
            self._reply(403, {"status_code": 403, "errors": [{"error": "AuthError", "message": problem}]})
            return False

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path in ("/", ""):
                self._reply(200, standin.page(), "text/html; charset=utf-8")
                return
            if not self._authorised():
                return
            if parts.path == "/v2/notifications":
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                self._reply(200, {"notifications": standin.find(query), "links": {"current": self.path}})
                return
            if parts.path.startswith("/v2/notifications/"):
                found = standin.get(parts.path.rsplit("/", 1)[-1])
                if found is None:
                    self._reply(
                        404,
                        {"status_code": 404, "errors": [{"error": "NoResultFound", "message": "No result found"}]},
                    )
                else:
                    self._reply(200, found)
                return
            self._reply(404, {"status_code": 404, "errors": [{"error": "NotFound", "message": "no such path"}]})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path not in ("/v2/notifications/email", "/v2/notifications/sms"):
                self._reply(404, {"status_code": 404, "errors": [{"error": "NotFound", "message": "no such path"}]})
                return
            if not self._authorised():
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError
            except ValueError:
                self._reply(
                    400, {"status_code": 400, "errors": [{"error": "BadRequest", "message": "Invalid JSON supplied"}]}
                )
                return
            code, answer = standin.accept(path.rsplit("/", 1)[-1], body)
            self._reply(code, answer)

    return Handler


class StandInServer:
    """The stand-in on a port of this host, served from a thread of this process."""

    def __init__(self, standin: StandIn, port: int = 0, host: str = "127.0.0.1"):
        self.standin = standin
        self.httpd = ThreadingHTTPServer((host, port), _handler(standin))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="notify-standin", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> StandInServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.standin.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m starters.notify_standin", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=20890)
    parser.add_argument("--api-key", default=SAMPLE_KEY)
    parser.add_argument("--callback-url")
    parser.add_argument("--callback-token")
    args = parser.parse_args(argv)
    server = StandInServer(
        StandIn(api_key=args.api_key, callback_url=args.callback_url, callback_token=args.callback_token), args.port
    )
    print(f"GOV.UK Notify stand-in on {server.base_url}/", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
