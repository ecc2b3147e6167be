"""The codec server: the token in a header only, bad input answered 400 with a short reason,
payloads decoded one by one, each request logged with counts and no content or token."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from temporalio.api.common.v1 import Payload

from worker.codec import EncryptionCodec, Keyring
from worker.codec_server import ServerCodec, build_app, start_site
from worker.logging import configure_logging

TOKEN = "tok-" + "s3cr3t" * 4
SEALING_TOKEN = "seal-" + "an0th3r" * 4
UI = "http://localhost:8233"
CHILD = "c-private-99"
KEYRING = Keyring([("k1", os.urandom(32))])


def as_json(payload: Payload) -> dict:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


async def sealed(text: str, keyring: Keyring = KEYRING) -> dict:
    inner = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())
    return as_json((await EncryptionCodec(keyring).encode([inner]))[0])


def data_of(item: dict) -> bytes:
    return base64.b64decode(item.get("data", ""))


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = build_app(ServerCodec(KEYRING), TOKEN, (UI,), sealing_token=SEALING_TOKEN)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def dev_client() -> AsyncIterator[TestClient]:
    app = build_app(ServerCodec(KEYRING), TOKEN, (UI,), trust_local_ui=True)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


BEARER = {"Authorization": f"Bearer {TOKEN}"}
SEALER = {"Authorization": f"Bearer {SEALING_TOKEN}"}


async def test_decodes_with_the_token_in_either_header(client: TestClient) -> None:
    body = {"payloads": [await sealed(CHILD)]}
    for headers in (BEARER, {"X-Codec-Token": TOKEN}):
        response = await client.post("/decode", json=body, headers=headers)
        assert response.status == 200
        [item] = (await response.json())["payloads"]
        assert json.loads(data_of(item)) == CHILD


async def test_a_token_in_the_path_is_not_accepted(client: TestClient) -> None:
    response = await client.post(f"/{TOKEN}/decode", json={"payloads": []})
    assert response.status == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Codec-Token": "wrong"}])
async def test_no_valid_token_is_refused(client: TestClient, headers: dict) -> None:
    response = await client.post("/decode", json={"payloads": [await sealed(CHILD)]}, headers=headers)
    assert response.status == 401
    assert CHILD not in await response.text()


async def test_the_local_ui_needs_no_token_in_development_only(client: TestClient, dev_client: TestClient) -> None:
    body = {"payloads": [await sealed(CHILD)]}
    from_ui = {"Origin": UI}

    assert (await dev_client.post("/decode", json=body, headers=from_ui)).status == 200
    assert (await dev_client.post("/decode", json=body)).status == 401  # not the UI's origin
    assert (await dev_client.post("/decode", json=body, headers={"Origin": "http://evil.example"})).status == 403
    assert (await client.post("/decode", json=body, headers=from_ui)).status == 401  # production
    # Sealing is never open to the local UI: a sealed signal is one a worker would act on.
    assert (await dev_client.post("/encode", json=body, headers=from_ui)).status == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "body is not JSON"),
        (b"[1, 2]", 'body must be {"payloads": [...]}'),
        (b'{"payloads": "x"}', 'body must be {"payloads": [...]}'),
        (b'{"payloads": [{"metadata": "x"}]}', "payloads are not Temporal payloads (metadata and data in base64)"),
        (b'{"payloads": [{"data": "%%%%"}]}', "payload 0: data is not base64"),
        (b'{"payloads": [{"data": "YW*Jj"}]}', "payload 0: data is not base64"),
        (
            b'{"payloads": [{"data": "YWJj"}, {"metadata": {"encoding": "@@anNvbi9wbGFpbg=="}, "data": ""}]}',
            "payload 1: metadata 'encoding' is not base64",
        ),
    ],
)
async def test_bad_input_answers_400_with_a_short_reason(client: TestClient, body: bytes, reason: str) -> None:
    response = await client.post("/decode", data=body, headers={**BEARER, "Content-Type": "application/json"})
    assert (response.status, await response.text()) == (400, reason)


async def test_an_unknown_key_id_alone_answers_400(client: TestClient) -> None:
    other = Keyring([("kold", os.urandom(32))])
    response = await client.post("/decode", json={"payloads": [await sealed(CHILD, other)]}, headers=BEARER)
    assert response.status == 400
    assert await response.text() == "sealed with key id 'kold' which this codec server does not hold"


async def test_one_bad_payload_does_not_fail_the_batch(client: TestClient) -> None:
    bad = await sealed(CHILD, Keyring([("kold", os.urandom(32))]))
    body = {"payloads": [await sealed("first"), bad, await sealed("third")]}

    response = await client.post("/decode", json=body, headers=BEARER)

    assert response.status == 200
    assert response.headers["X-Cpplan-Undecoded"] == "1"
    first, returned, third = (await response.json())["payloads"]
    assert json.loads(data_of(first)) == "first" and json.loads(data_of(third)) == "third"
    assert returned == bad  # as it was sent


async def test_encode_then_decode_round_trips(client: TestClient) -> None:
    plain = as_json(Payload(metadata={"encoding": b"json/plain"}, data=b'"x"'))
    encoded = await (await client.post("/encode", json={"payloads": [plain]}, headers=SEALER)).json()
    decoded = await (await client.post("/decode", json=encoded, headers=BEARER)).json()
    assert decoded["payloads"][0]["data"] == plain["data"]
    # Sealed for no plan, as a message no plan has: the reader sees where it belonged.
    metadata = decoded["payloads"][0]["metadata"]
    assert base64.b64decode(metadata["sealed-for-workflow"]) == b""
    assert base64.b64decode(metadata["sealed-for-message"]) == b"codec-server"


async def test_sealing_needs_its_own_token_and_that_token_does_not_read(client: TestClient) -> None:
    plain = as_json(Payload(metadata={"encoding": b"json/plain"}, data=b'"x"'))
    refused = await client.post("/encode", json={"payloads": [plain]}, headers=BEARER)
    assert refused.status == 403
    assert await refused.text() == "sealing needs the encode token: the token to read payloads does not seal them"
    reading = await client.post("/decode", json={"payloads": [await sealed("x")]}, headers=SEALER)
    assert (reading.status, await reading.text()) == (403, "the encode token does not read payloads")


async def test_without_an_encode_token_nobody_seals() -> None:
    app = build_app(ServerCodec(KEYRING), TOKEN, (UI,))
    plain = as_json(Payload(metadata={"encoding": b"json/plain"}, data=b'"x"'))
    async with TestClient(TestServer(app)) as test_client:
        for headers in (BEARER, SEALER, {}):
            response = await test_client.post("/encode", json={"payloads": [plain]}, headers=headers)
            assert response.status in (401, 403), headers
        assert (await test_client.post("/encode", json={"payloads": [plain]}, headers=BEARER)).status == 403


async def test_a_payload_bound_to_a_plan_opens_here_and_names_its_place(client: TestClient) -> None:
    """The UI's request names no workflow: the payload's own binding is read and shown."""
    inner = Payload(metadata={"encoding": b"json/plain"}, data=b'{"date": "2026-12-01"}')
    [bound] = EncryptionCodec(KEYRING).seal([inner], "plan-p-1234", "report_death")
    response = await client.post("/decode", json={"payloads": [as_json(bound)]}, headers=BEARER)
    [opened] = (await response.json())["payloads"]
    assert data_of(opened) == inner.data
    assert base64.b64decode(opened["metadata"]["sealed-for-workflow"]) == b"plan-p-1234"
    assert base64.b64decode(opened["metadata"]["sealed-for-message"]) == b"report_death"
    # Its binding changed (moved to another plan), it does not open.
    moved = as_json(bound)
    moved["metadata"]["sealed-for-workflow"] = base64.b64encode(b"plan-p-9999").decode()
    refused = await client.post("/decode", json={"payloads": [moved]}, headers=BEARER)
    assert refused.status == 400
    assert "damaged or altered" in await refused.text()


async def test_cors_preflight_allows_the_token_headers_for_the_ui_only(client: TestClient) -> None:
    ok = await client.options("/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    other = await client.options("/decode", headers={"Origin": "http://evil.example"})
    assert "X-Codec-Token" in ok.headers["Access-Control-Allow-Headers"]
    assert ok.headers["Access-Control-Allow-Origin"] == UI
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_each_request_is_logged_with_counts_and_no_content_or_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Served as `cpplan dev` serves it (start_site), over a real socket.
    monkeypatch.setenv("CPPLAN_LOG_FORMAT", "json")
    configure_logging(force=True)
    bad = await sealed(CHILD, Keyring([("kold", os.urandom(32))]))
    runner, port = await start_site(build_app(ServerCodec(KEYRING), TOKEN, (UI,)), "127.0.0.1", 0)
    try:
        async with ClientSession(f"http://127.0.0.1:{port}") as session:
            body = {"payloads": [await sealed(CHILD), bad]}
            async with session.post("/decode", json=body, headers={**BEARER, "X-Namespace": "default"}) as ok:
                assert ok.status == 200
            wrong = {"Authorization": "Bearer wrong-" + TOKEN}
            async with session.post("/decode", json={"payloads": []}, headers=wrong) as refused_response:
                assert refused_response.status == 401
    finally:
        await runner.cleanup()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    served = next(line for line in lines if line["event"] == "codec request")
    refused = next(line for line in lines if line["event"] == "codec request refused")

    assert (served["payloads"], served["failed"], served["namespace"], served["op"]) == (2, 1, "default", "decode")
    assert served["client"] == "127.0.0.1"
    assert refused["reason"] == "no valid token"
    assert CHILD not in err and TOKEN not in err
    assert "/decode" not in err  # no access log line


async def test_an_ops_persons_own_sign_in_opens_payloads_and_nobody_elses(tmp_path, monkeypatch) -> None:
    """In deployment the Temporal UI passes the signed-in person's access token: it opens
    payloads for the ops role only, and the log names who asked."""
    from starters.web.devkey import dev_token, ensure_dev_key
    from worker.codec_server import ops_verifier_from_env

    key = ensure_dev_key(tmp_path)
    monkeypatch.setenv("CPPLAN_OIDC_ISSUER", "https://idp.council.example")
    monkeypatch.setenv("CPPLAN_OIDC_JWKS_FILE", str(key.jwks_path))
    monkeypatch.setenv("CPPLAN_CODEC_OIDC_AUDIENCE", "temporal-ui")

    def token(staff_id: str, role: str, issuer: str = "https://idp.council.example") -> dict:
        signed = dev_token(key, staff_id, [role], issuer=issuer, audience="temporal-ui")
        return {"Authorization": f"Bearer {signed}"}

    app = build_app(ServerCodec(KEYRING), TOKEN, (UI,), ops_user=ops_verifier_from_env())
    body = json.dumps({"payloads": [await sealed("hello")]})
    async with TestClient(TestServer(app)) as test_client:
        ops = await test_client.post("/decode", data=body, headers=token("ops-1", "ops"))
        assert ops.status == 200
        for refused in (token("sw-1", "social-worker"), token("ops-1", "ops", issuer="https://elsewhere.example")):
            assert (await test_client.post("/decode", data=body, headers=refused)).status == 401


def test_without_an_identity_provider_only_the_shared_token_opens_payloads(monkeypatch) -> None:
    from worker.codec_server import ops_verifier_from_env

    monkeypatch.delenv("CPPLAN_OIDC_ISSUER", raising=False)
    assert ops_verifier_from_env() is None
