"""Alembic's environment for Sarathi: migrate the connection handed over by `sarathi.common.db.migrate`.

Configuration is in code (`migrate.context_options`): every owner's schema is included, the version
table is `public.alembic_version`, and the target metadata is `SarathiTable.metadata`. Offline
(`--sql`) mode is not supported: migrations always run against a live database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sarathi.common.db.migrate import context_options


def run_migrations_online(connection: Connection) -> None:
    context.configure(connection=connection, **context_options())
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; use sarathi.common.db.migrate")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations through sarathi.common.db.migrate, which provides the connection")
run_migrations_online(_connection)
