"""Run the schema migrations (Alembic, configured in code: no alembic.ini).

    python -m sarathi.common.db.migrate upgrade [REVISION]     # default: head
    python -m sarathi.common.db.migrate downgrade [REVISION]   # default: one step (-1); `base` drops all
    python -m sarathi.common.db.migrate current
    python -m sarathi.common.db.migrate revision -m "add exit order id"   # developers: autogenerate

The database is `--url`, else `DATABASE_URL` / `SARATHI_DATABASE_URL` through `SarathiSettings`.

There is one linear history for the whole database, in `sarathi/common/db/migrations/versions`.
Alembic's bookkeeping table is `public.alembic_version`: outside the owners' schemas, so a
downgrade to base leaves only that (empty) table behind. Upgrades and downgrades run in one
transaction under a PostgreSQL advisory lock, so services that migrate at start-up concurrently
apply each revision once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlmodel.sql.sqltypes import AutoString

from sarathi.common.db.base import Schema
from sarathi.common.db.engine import create_engine, display_url
from sarathi.common.db.models import all_metadata
from sarathi.common.logging import configure_logging
from sarathi.common.settings import SarathiSettings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
VERSION_TABLE_SCHEMA = "public"
ADVISORY_LOCK_KEY = 0x5A_7A_7D_B0  # any constant shared by every Sarathi process
OUR_SCHEMAS = frozenset(schema.value for schema in Schema)


def _include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Autogenerate looks only at our schemas (never `public` or another application's)."""
    if type_ == "schema":
        return name in OUR_SCHEMAS
    return True


def _render_item(type_: str, obj: Any, _autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes SQLModel's `AutoString` as plain `sa.String()` (no sqlmodel import)."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def context_options() -> dict[str, Any]:
    """Options for `MigrationContext.configure` / `context.configure`, shared by env.py and tests."""
    return {
        "target_metadata": all_metadata(),
        "include_schemas": True,
        "include_name": _include_name,
        "version_table": VERSION_TABLE,
        "version_table_schema": VERSION_TABLE_SCHEMA,
        "compare_type": True,
        "render_item": _render_item,
    }


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` for our migrations; `connection` is what env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: SarathiSettings | str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (default: the latest)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: SarathiSettings | str, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision` (default: `base`, which drops every table)."""
    _run(url, lambda config: command.downgrade(config, revision))


def current(url: SarathiSettings | str) -> str | None:
    """The revision the database at `url` is at, or None when it was never migrated."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"version_table": VERSION_TABLE, "version_table_schema": VERSION_TABLE_SCHEMA},
            )
            return context.get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The latest revision shipped in this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def new_revision(url: SarathiSettings | str, message: str) -> str:
    """Autogenerate the next numbered revision file from the models' difference to the database at
    `url` (which must be at head); returns its revision id. Review and tidy the file before committing.
    """
    latest = head()
    revision_id = f"{int(latest or 0) + 1:04d}"
    _run(url, lambda config: _autogenerate(config, message, revision_id))
    return revision_id


def _autogenerate(config: Config, message: str, revision_id: str) -> None:
    command.revision(config, message=message, autogenerate=True, rev_id=revision_id)


def _run(url: SarathiSettings | str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            action(alembic_config(connection))
    finally:
        engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sarathi.common.db.migrate", description="Migrate Sarathi's database schema."
    )
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from the settings)")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("upgrade", help="upgrade to REVISION (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = commands.add_parser("downgrade", help="downgrade to REVISION (default: -1; `base` drops all)")
    down.add_argument("revision", nargs="?", default="-1")
    commands.add_parser("current", help="print the database's revision (`base` when never migrated)")
    new = commands.add_parser("revision", help="autogenerate the next revision from the models")
    new.add_argument("-m", "--message", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    args = _parser().parse_args(argv)
    url: str = args.url or SarathiSettings().database_url
    if args.command == "upgrade":
        upgrade(url, args.revision)
    elif args.command == "downgrade":
        downgrade(url, args.revision)
    elif args.command == "revision":
        sys.stdout.write(f"created revision {new_revision(url, args.message)}\n")
    revision = current(url) or "base"
    sys.stdout.write(f"{display_url(url)}: {revision}\n")
    return 0


if __name__ == "__main__":
    configure_logging("migrate")  # Alembic's "Running upgrade ..." lines, as JSON like every service
    raise SystemExit(main())
