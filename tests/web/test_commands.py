"""`cpplan dev-token`: tokens from the development key only, and only where it is in use."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from starters.web import commands
from starters.web.devkey import ensure_dev_key
from starters.web.settings import SettingsError, WebSettings
from worker.identity import TokenVerifier


@pytest.fixture
def dev_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CPPLAN_OIDC_ISSUER", "CPPLAN_OIDC_JWKS_URL", "CPPLAN_OIDC_JWKS_FILE", "CPPLAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(commands, "DEV_DIR", tmp_path)
    return tmp_path


def test_dev_token_is_accepted_by_the_dev_settings(dev_dir: Path) -> None:
    with pytest.raises(SettingsError, match="no development key"):
        commands.dev_token_for("sw-demo", ["social-worker"])
    key = ensure_dev_key(dev_dir)
    assert oct(key.jwks_path.parent.joinpath("dev-oidc-key.pem").stat().st_mode & 0o777) == "0o600"
    token = commands.dev_token_for("sw-demo", ["social-worker"])
    who = TokenVerifier(WebSettings.from_env(dev_dir=dev_dir)).verify(token)
    assert who.staff_id == "sw-demo" and who.roles == {"social-worker"}
    with pytest.raises(SettingsError, match="unknown role"):
        commands.dev_token_for("sw-demo", ["admin"])


def test_dev_token_refused_when_an_issuer_is_configured(dev_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_dev_key(dev_dir)
    monkeypatch.setenv("CPPLAN_OIDC_ISSUER", "https://login.example")
    with pytest.raises(SettingsError, match="not in use"):
        commands.dev_token_for("tm-demo", ["team-manager"])
    monkeypatch.delenv("CPPLAN_OIDC_ISSUER")
    monkeypatch.setenv("CPPLAN_ENV", "production")
    with pytest.raises(SettingsError):
        commands.dev_token_for("tm-demo", ["team-manager"])
    with pytest.raises(SettingsError, match="development key is not used in production"):
        WebSettings.from_env(dev_dir=dev_dir)


def test_expired_and_wrong_audience_tokens_are_refused(dev_dir: Path) -> None:
    from worker.identity import NotSignedIn

    key = ensure_dev_key(dev_dir)
    verifier = TokenVerifier(WebSettings.from_env(dev_dir=dev_dir))
    base = {"iss": "cpplan-dev", "aud": "cpplan", "staff_id": "tm-demo", "roles": ["team-manager"], "exp": 10}
    with pytest.raises(NotSignedIn, match="expired"):
        verifier.verify(key.sign(base))
    with pytest.raises(NotSignedIn, match="not accepted"):
        verifier.verify(key.sign({**base, "aud": "another-service", "exp": 2**40}))
    with pytest.raises(NotSignedIn, match="staff_id"):
        verifier.verify(key.sign({**base, "staff_id": "Jane Smith", "exp": 2**40}))
    unsigned = jwt.encode({**base, "exp": 2**40}, key=None, algorithm="none")
    with pytest.raises(NotSignedIn):
        verifier.verify(unsigned)
