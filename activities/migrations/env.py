"""Alembic's entry point for the read model's migrations (activities/schema.py configures it).

Online: on the connection activities/schema.py passes in `config.attributes["connection"]`,
inside its transaction (and, on PostgreSQL, its advisory lock). Offline (`cpplan db upgrade
--sql`): the SQL for a DBA to read, for the URL's dialect.
"""

from __future__ import annotations

from alembic import context

from activities.db import metadata

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
