"""pytest plugin: real NATS (JetStream) and PostgreSQL for integration tests.

Servers start lazily, once per test session, on the first test that asks for them, and stop at
the end. Enable with `-p sarathi.common.testing.plugin` (the root pyproject does).

Fixtures:
- `nats_url`: URL of a NATS server with JetStream.
- `jetstream_clean`: `nats_url`, after deleting every stream and KV bucket left by earlier tests.
- `postgres_url`: URL of the session's PostgreSQL server (its default database).
- `fresh_database_url`: URL of a new, empty database for this one test.

The plugin also keeps the session off the default ports of a local system (`away_from_defaults`).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import pytest

from sarathi.common.testing import servers

# Every default that points at a locally running system (`sarathi up`'s sim on 8600, risk on
# 8605, its state file in .run/up) points, for the whole test session, at a port reserved here
# that refuses connections, and at a directory of the session's own: a test that forgets to say
# where its sim is fails instead of talking to someone else's. NATS_URL / DATABASE_URL are left
# alone: the session servers come from them when they are set, else from free ports.
_RESERVED = pytest.StashKey[tuple[socket.socket, tempfile.TemporaryDirectory[str]]]()


def away_from_defaults(port: int, run_dir: str) -> dict[str, str]:
    """The environment that keeps the suite off the default ports (`port` refuses connections)."""
    here = f"127.0.0.1:{port}"
    return {
        "SARATHI_DHAN_REST_URL": f"http://{here}/v2",
        "SARATHI_DHAN_FEED_URL": f"ws://{here}/feed",
        "SARATHI_DHAN_ORDER_UPDATE_URL": f"ws://{here}/order-update",
        "SARATHI_EXECUTION_INSTRUMENT_MASTER_URL": f"http://{here}/api-data/api-scrip-master-detailed.csv",
        "SARATHI_RISK_URL": f"http://{here}",
        "SARATHI_RUN_DIR": run_dir,
    }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: uses the real NATS / PostgreSQL session servers")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    run_dir = tempfile.TemporaryDirectory(prefix="sarathi-test-run-")
    config.stash[_RESERVED] = (closed, run_dir)
    os.environ.update(away_from_defaults(closed.getsockname()[1], run_dir.name))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RESERVED in config.stash:
        closed, run_dir = config.stash[_RESERVED]
        closed.close()
        run_dir.cleanup()


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
