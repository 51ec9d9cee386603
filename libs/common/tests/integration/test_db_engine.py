"""Engines built from settings reach a real PostgreSQL; the readiness ping fails fast and clearly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from sarathi.common.db.engine import (
    DatabaseUnavailableError,
    create_async_engine,
    create_engine,
    normalize_url,
    ping,
)
from sarathi.common.settings import SarathiSettings

PING_TIMEOUT_SECONDS = 1.0
GRACE_SECONDS = 5.0  # the test itself gives up after the ping's timeout plus this


def a_closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts TCP connections and then never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_async_engine_from_settings_pings_a_real_database(fresh_database_url: str) -> None:
    settings = SarathiSettings(database_url=fresh_database_url)
    engine = create_async_engine(settings)
    try:
        await ping(engine, timeout_seconds=PING_TIMEOUT_SECONDS)
    finally:
        await engine.dispose()


def test_sync_engine_from_a_libpq_url_runs_a_query(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


async def test_ping_against_a_closed_port_fails_with_a_clear_error() -> None:
    engine = create_async_engine(f"postgresql://postgres@127.0.0.1:{a_closed_port()}/sarathi")
    try:
        with pytest.raises(DatabaseUnavailableError, match=r"database at .*127\.0\.0\.1.* is unavailable"):
            await asyncio.wait_for(
                ping(engine, timeout_seconds=PING_TIMEOUT_SECONDS), PING_TIMEOUT_SECONDS + GRACE_SECONDS
            )
    finally:
        await engine.dispose()


async def test_ping_against_a_silent_server_times_out(silent_server: int) -> None:
    engine = create_async_engine(f"postgresql://postgres@127.0.0.1:{silent_server}/sarathi")
    try:
        with pytest.raises(DatabaseUnavailableError, match=r"did not answer SELECT 1 within 1s"):
            await asyncio.wait_for(
                ping(engine, timeout_seconds=PING_TIMEOUT_SECONDS), PING_TIMEOUT_SECONDS + GRACE_SECONDS
            )
    finally:
        await engine.dispose()


async def test_ping_error_never_shows_the_password() -> None:
    engine = create_async_engine(f"postgresql://sarathi:hunter2@127.0.0.1:{a_closed_port()}/sarathi")
    try:
        with pytest.raises(DatabaseUnavailableError) as failure:
            await ping(engine, timeout_seconds=PING_TIMEOUT_SECONDS)
    finally:
        await engine.dispose()

    assert "hunter2" not in str(failure.value)
    assert "***" in str(failure.value)


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u@h:5432/d",
        "postgres://u@h:5432/d",
        "postgresql+psycopg://u@h:5432/d",
    ],
)
def test_urls_are_normalized_to_the_psycopg_driver(given: str) -> None:
    assert normalize_url(given) == "postgresql+psycopg://u@h:5432/d"


def test_a_url_for_another_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="asyncpg"):
        normalize_url("postgresql+asyncpg://u@h/d")
