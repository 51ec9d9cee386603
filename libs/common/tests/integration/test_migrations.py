"""The Alembic migrations against a real PostgreSQL: they build what the models describe, and undo it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text

from sarathi.common.db import migrate
from sarathi.common.db.engine import create_engine
from sarathi.common.db.models import all_metadata

OUR_SCHEMAS = {"refdata", "orders", "risk", "signals", "execution"}
OUR_TABLES = {
    ("refdata", "instrument"),
    ("refdata", "derivative"),
    ("refdata", "sync_run"),
    ("orders", "order"),
    ("orders", "fill"),
    ("orders", "command"),
    ("orders", "outbox"),
    ("risk", "position_tracker"),
    ("risk", "audit_log"),
    ("risk", "trading_halt"),
    ("signals", "signal"),
    ("execution", "decision"),
}
MONEY_COLUMNS = {
    ("refdata", "instrument", "tick_size"),
    ("refdata", "derivative", "strike"),
    ("refdata", "derivative", "tick_size"),
    ("orders", "order", "price"),
    ("orders", "order", "trigger_price"),
    ("orders", "order", "target_price"),
    ("orders", "order", "stop_loss_price"),
    ("orders", "order", "average_price"),
    ("orders", "fill", "price"),
    ("risk", "position_tracker", "average_entry"),
    ("risk", "position_tracker", "high_water_mark"),
}


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_database_url)
    yield engine
    engine.dispose()


def schemas_of(connection: Connection) -> set[str]:
    rows = connection.execute(text("SELECT schema_name FROM information_schema.schemata"))
    return {name for (name,) in rows} & OUR_SCHEMAS


def tables_of(connection: Connection) -> set[tuple[str, str]]:
    rows = connection.execute(
        text(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
    )
    return {(schema, table) for schema, table in rows}


def test_upgrade_to_head_creates_every_schema_and_table(fresh_database_url: str, engine: Engine) -> None:
    migrate.upgrade(fresh_database_url)

    with engine.connect() as connection:
        assert schemas_of(connection) == OUR_SCHEMAS
        assert tables_of(connection) == OUR_TABLES | {("public", "alembic_version")}
    assert migrate.current(fresh_database_url) == migrate.head()


def test_downgrade_to_base_leaves_none_of_our_tables_or_schemas(
    fresh_database_url: str, engine: Engine
) -> None:
    migrate.upgrade(fresh_database_url)

    migrate.downgrade(fresh_database_url)

    with engine.connect() as connection:
        assert schemas_of(connection) == set()
        assert tables_of(connection) == {("public", "alembic_version")}  # Alembic's, now empty
    assert migrate.current(fresh_database_url) is None


def test_upgrade_after_downgrade_round_trips(fresh_database_url: str, engine: Engine) -> None:
    migrate.upgrade(fresh_database_url)
    migrate.downgrade(fresh_database_url)

    migrate.upgrade(fresh_database_url)

    with engine.connect() as connection:
        assert tables_of(connection) >= OUR_TABLES
    assert migrate.current(fresh_database_url) == migrate.head()


def test_upgrade_twice_is_a_no_op(fresh_database_url: str) -> None:
    migrate.upgrade(fresh_database_url)

    migrate.upgrade(fresh_database_url)

    assert migrate.current(fresh_database_url) == migrate.head()


def test_concurrent_upgrades_apply_the_migration_once(fresh_database_url: str) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = [pool.submit(migrate.upgrade, fresh_database_url) for _ in range(3)]

    assert [outcome.exception() for outcome in outcomes] == [None, None, None]
    assert migrate.current(fresh_database_url) == migrate.head()


def test_command_line_upgrades_and_reports_the_revision(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = migrate.main(["--url", fresh_database_url, "upgrade"])

    assert status == 0
    assert capsys.readouterr().out.strip().endswith(f": {migrate.head()}")


def _previous_of_head() -> str | None:
    """The revision the head revises (None when the head is the first one)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_revision(migrate.head())
    previous = head.down_revision if head is not None else None
    return previous if isinstance(previous, str) else None


def test_command_line_downgrade_steps_back_one_revision(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(fresh_database_url)

    migrate.main(["--url", fresh_database_url, "downgrade"])

    previous = _previous_of_head()
    assert capsys.readouterr().out.strip().endswith(f": {previous or 'base'}")
    assert migrate.current(fresh_database_url) == previous


def test_models_and_migrations_agree(fresh_database_url: str, engine: Engine) -> None:
    migrate.upgrade(fresh_database_url)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migrate.context_options())
        differences = compare_metadata(context, all_metadata())

    assert differences == []


def test_money_columns_are_numeric_and_no_column_is_floating_point(
    fresh_database_url: str, engine: Engine
) -> None:
    migrate.upgrade(fresh_database_url)

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_schema, table_name, column_name, data_type"
                " FROM information_schema.columns WHERE table_schema = ANY(:schemas)"
            ),
            {"schemas": sorted(OUR_SCHEMAS)},
        ).all()

    types = {(schema, table, column): data_type for schema, table, column, data_type in rows}
    floating = {column for column, data_type in types.items() if data_type in {"real", "double precision"}}
    assert floating == set()
    assert {column: types[column] for column in MONEY_COLUMNS} == dict.fromkeys(MONEY_COLUMNS, "numeric")


def test_timestamps_are_timezone_aware(fresh_database_url: str, engine: Engine) -> None:
    migrate.upgrade(fresh_database_url)

    with engine.connect() as connection:
        naive = connection.execute(
            text(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = ANY(:schemas) AND data_type = 'timestamp without time zone'"
            ),
            {"schemas": sorted(OUR_SCHEMAS)},
        ).all()

    assert naive == []
