"""Engines from settings or a URL, and the readiness ping.

Nothing here connects at import time and nothing is cached at module level: the composition root
of a service builds its engines once (`create_async_engine(settings)`) and disposes of them on
shutdown. Both engines use the psycopg 3 driver; any `postgresql://` or `postgres://` URL is
normalized to `postgresql+psycopg://`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import sqlalchemy
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from sarathi.common.settings import SarathiSettings

if TYPE_CHECKING:
    # Imported lazily at run time: sqlalchemy.ext.asyncio needs greenlet, which the synchronous
    # users (migrations, the sync job) do not.
    from sqlalchemy.ext.asyncio import AsyncEngine

DRIVER_SCHEME = "postgresql+psycopg"
_PLAIN_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_PING_TIMEOUT_SECONDS = 2.0


class DatabaseUnavailableError(ConnectionError):
    """The database did not answer; the message names the server (never the password)."""


def normalize_url(source: SarathiSettings | str) -> str:
    """The SQLAlchemy URL for psycopg 3 of `source` (settings or a URL in libpq or SQLAlchemy form)."""
    url = source.database_url if isinstance(source, SarathiSettings) else source
    parsed = make_url(url)
    if parsed.drivername not in _PLAIN_SCHEMES:
        raise ValueError(f"not a PostgreSQL URL for psycopg: scheme {parsed.drivername!r}")
    return parsed.set(drivername=DRIVER_SCHEME).render_as_string(hide_password=False)


def display_url(source: SarathiSettings | str) -> str:
    """`source` as a URL safe to log: the password is masked."""
    return make_url(normalize_url(source)).render_as_string(hide_password=True)


def create_engine(
    source: SarathiSettings | str,
    *,
    connect_timeout_seconds: int = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    echo: bool = False,
) -> Engine:
    """A synchronous engine (migrations, scripts, the instrument-sync job). Does not connect yet."""
    return sqlalchemy.create_engine(
        normalize_url(source),
        echo=echo,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout_seconds},
    )


def create_async_engine(
    source: SarathiSettings | str,
    *,
    connect_timeout_seconds: int = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    echo: bool = False,
) -> AsyncEngine:
    """An asyncio engine on psycopg's async driver (the services). Does not connect yet."""
    from sqlalchemy.ext.asyncio import create_async_engine as sa_create_async_engine

    return sa_create_async_engine(
        normalize_url(source),
        echo=echo,
        pool_pre_ping=True,
        connect_args={"connect_timeout": connect_timeout_seconds},
    )


async def ping(engine: AsyncEngine, timeout_seconds: float = DEFAULT_PING_TIMEOUT_SECONDS) -> None:
    """Run `SELECT 1` within `timeout_seconds`, for `/readyz`.

    Raises `DatabaseUnavailableError` when the server refuses, fails or stays silent past the
    timeout; the cause is chained.
    """
    where = engine.url.render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError as exc:
        raise DatabaseUnavailableError(
            f"database at {where} did not answer SELECT 1 within {timeout_seconds:g}s"
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailableError(f"database at {where} is unavailable: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    """A database error in one line (the driver's own message where there is one), for operators."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
