"""`cpplan db upgrade | current`: the read model's schema (activities/schema.py), for the
deployment's migration job and for a DBA.

`upgrade` takes the database of `CPPLAN_DATABASE_URL` (or `--url`) to this release's revision,
adopting one from before migrations; `--sql` prints the SQL instead, for an empty database of
that URL's kind, touching nothing. `current` prints the database's revision and this release's;
exit 1 when the database is behind. Neither prints the URL (it holds the password).
"""

from __future__ import annotations

import argparse
import json

from sqlalchemy.engine import make_url

HELP = "the read model's schema: `upgrade` to this release's revision, or show the `current` one"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="migrate the database to this release's schema (adopting an older one)")
    up.add_argument("--sql", action="store_true", help="print the SQL for an empty database instead of running it")
    actions.add_parser("current", help="the database's schema revision and this release's; exit 1 when behind")
    for sub in actions.choices.values():
        sub.add_argument(
            "--url",
            help="SQLAlchemy URL (default $CPPLAN_DATABASE_URL; a password typed here shows in the process list, "
            "so keep it in the variable; --sql needs none)",
        )
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def cmd_db(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from activities import schema
    from activities.db import database_url, unchecked_engine

    url = database_url(args.url)
    where = make_url(url).render_as_string(hide_password=True)
    if args.db_action == "upgrade" and args.sql:
        schema.upgrade_sql(url)
        return 0
    engine = unchecked_engine(url)  # not get_engine: that would check (or upgrade) the schema itself
    try:
        try:
            state = schema.upgrade(engine) if args.db_action == "upgrade" else schema.inspect(engine)
        except sa.exc.OperationalError as err:
            raise schema.DatabaseUnreachable(
                f"cannot reach the database at {where}: {type(err.orig).__name__}"
            ) from None
    finally:
        engine.dispose()
    if getattr(args, "json", False):
        print(
            json.dumps(
                {"current": state.current, "head": state.head, "at_head": state.at_head, "state": state.describe()}
            )
        )
    else:
        print(f"{where}: {state.describe()}")
    return 0 if state.usable else 1
