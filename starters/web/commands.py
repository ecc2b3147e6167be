"""`cpplan serve` and `cpplan dev-token`."""

from __future__ import annotations

import argparse
import os
import sys

from starters.web.settings import DEV_DIR, DEV_ISSUER, SettingsError, WebSettings, production
from worker.identity import DEFAULT_AUDIENCE, ROLES, STAFF_ID


def run_web_command(args: argparse.Namespace) -> int:
    try:
        if args.command == "serve":
            from starters.web.server import serve

            WebSettings.from_env()  # refuse a configuration that cannot work before listening
            check_database_at_start()
            serve(args.address, args.namespace, args.host, args.web_port)
            return 0
        print(dev_token_for(args.person_id, args.role))
        return 0
    except SettingsError as err:
        print(f"cpplan {args.command}: {err}", file=sys.stderr)
        return 1


def check_database_at_start() -> None:
    """As the worker does (worker/main.py): a schema behind this release is upgraded outside
    production and refused in production ("run `cpplan db upgrade`"); a database that does not
    answer yet is left to /readyz to report."""
    import sqlalchemy as sa

    from activities.db import get_engine
    from activities.schema import SchemaBehind

    try:
        get_engine()
    except SchemaBehind as err:
        raise SettingsError(str(err)) from None
    except sa.exc.OperationalError:
        print("cpplan serve: the database does not answer yet; /readyz says so until it does", file=sys.stderr)


def dev_token_for(person_id: str, roles: list[str]) -> str:
    """A token from the development key; refused wherever real tokens are checked instead."""
    from starters.web.devkey import KEY_FILE, dev_token, ensure_dev_key

    configured = any(os.environ.get(v) for v in ("CPPLAN_OIDC_ISSUER", "CPPLAN_OIDC_JWKS_URL", "CPPLAN_OIDC_JWKS_FILE"))
    if production() or configured:
        raise SettingsError("refused: an identity provider is configured, so the development key is not in use")
    if not (DEV_DIR / KEY_FILE).exists():
        raise SettingsError("refused: no development key; `cpplan dev` makes it on first run")
    if not STAFF_ID.fullmatch(person_id):
        raise SettingsError(f"PERSON_ID must be a staff reference (letters, digits, . _ : -), not {person_id!r}")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise SettingsError(f"unknown role {unknown[0]!r}; roles: {', '.join(ROLES)}")
    audience = os.environ.get("CPPLAN_OIDC_AUDIENCE", "").strip() or DEFAULT_AUDIENCE
    claim = os.environ.get("CPPLAN_OIDC_STAFF_CLAIM", "").strip() or "staff_id"
    return dev_token(ensure_dev_key(DEV_DIR), person_id, roles, issuer=DEV_ISSUER, audience=audience, staff_claim=claim)
