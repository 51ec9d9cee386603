"""pytest plugin: real NATS (JetStream) and PostgreSQL for integration tests.

Servers start lazily, once per test session, on the first test that asks for them, and stop at
the end. Enable with `-p sarathi.common.testing.plugin` (the root pyproject does).

Fixtures:
- `nats_url`: URL of a NATS server with JetStream.
- `jetstream_clean`: `nats_url`, after deleting every stream and KV bucket left by earlier tests.
- `postgres_url`: URL of the session's PostgreSQL server (its default database).
- `fresh_database_url`: URL of a new, empty database for this one test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sarathi.common.testing import servers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: uses the real NATS / PostgreSQL session servers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a real-server fixture are marked `integration` (select with -m)."""
    real = {"nats_url", "jetstream_clean", "postgres_url", "fresh_database_url"}
    for item in items:
        if real & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    with servers.nats_server() as handle:
        yield handle.url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with servers.postgres_server() as handle:
        yield handle.url


@pytest.fixture(scope="session")
def _database_factory(postgres_url: str) -> Iterator[servers.DatabaseFactory]:
    factory = servers.DatabaseFactory(postgres_url)
    yield factory
    factory.drop_all()


@pytest.fixture
def fresh_database_url(_database_factory: servers.DatabaseFactory) -> str:
    return _database_factory.create()


@pytest.fixture
async def jetstream_clean(nats_url: str) -> str:
    """A NATS server with no streams or KV buckets left over from earlier tests."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
    return nats_url
