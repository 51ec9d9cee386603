"""Servers a crash test may SIGKILL and restart: a durable PostgreSQL and a NATS of the test's own
(same port, same data directory after a restart), and the orders service as a child process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sarathi.common import devservers
from sarathi.common.devservers import DevServer, DevServerError

RESTART_WITHIN_SECONDS = 30.0


async def _restart(start: Any) -> DevServer:
    """Start again until it succeeds: a SIGKILLed PostgreSQL's backends take a moment to notice and
    release the shared memory the new postmaster checks (a deadline, not a timing)."""
    deadline = asyncio.get_running_loop().time() + RESTART_WITHIN_SECONDS
    while True:
        try:
            server: DevServer = await asyncio.to_thread(start)
            return server
        except DevServerError:
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


@dataclass
class Killable:
    """A dev server that can be SIGKILLed and restarted on its port with its data."""

    name: str
    workdir: Path
    server: DevServer

    @property
    def url(self) -> str:
        return self.server.url

    async def kill(self) -> None:
        self.server.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.server.process.wait)

    async def restart(self) -> None:
        port = _port_of(self.server.url)
        if self.name == "postgres":
            self.server = await _restart(
                lambda: devservers.start_postgres(self.workdir, durable=True, port=port)
            )
        else:
            self.server = await _restart(lambda: devservers.start_nats(self.workdir, port=port))

    def stop(self) -> None:
        self.server.stop()


def durable_postgres(workdir: Path) -> Killable:
    return Killable("postgres", workdir, devservers.start_postgres(workdir, durable=True))


def own_nats(workdir: Path) -> Killable:
    return Killable("nats", workdir, devservers.start_nats(workdir))


@dataclass
class OrdersProcess:
    """`python -m sarathi.orders` as production runs it (sim mode: it follows the sim clock on NATS)."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=devservers.free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, **self.env, "SARATHI_ORDERS_HTTP_PORT": str(self.port)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sarathi.orders"], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    async def status(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=2.0) as http:
                reply = await http.get(f"http://127.0.0.1:{self.port}/status")
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    async def reconciled(self) -> bool:
        status = await self.status()
        return bool(status and status.get("reconciled"))

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
