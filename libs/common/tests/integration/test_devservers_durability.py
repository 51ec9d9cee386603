"""The PostgreSQL that `sarathi run` and `sarathi up` start is durable; only test fixtures are not."""

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from sarathi.common import devservers, pg_system_user


def _settings(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select name, setting from pg_settings"
            " where name in ('fsync', 'synchronous_commit', 'full_page_writes')"
        ).fetchall()
    return dict(rows)


@pytest.fixture
def runtime_postgres(tmp_path: Path) -> Iterator[str]:
    # Started exactly as `sarathi.cli.infra.infrastructure` starts it for a run that places orders.
    server = devservers.start_postgres(tmp_path / "postgres")
    try:
        yield server.url
    finally:
        server.stop()
        pg_system_user.remove_server_files(server.workdir)  # and its cluster, wherever it lives


def test_runtime_postgres_commits_survive_a_crash(runtime_postgres: str) -> None:
    assert _settings(runtime_postgres) == {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
    }


def test_throwaway_postgres_trades_durability_for_speed(tmp_path: Path) -> None:
    server = devservers.start_postgres(tmp_path / "pg", durable=False)
    try:
        settings = _settings(server.url)
    finally:
        server.stop()
        pg_system_user.remove_server_files(server.workdir)
    assert settings == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
