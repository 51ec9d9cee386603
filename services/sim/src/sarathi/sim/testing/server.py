"""Serve a sim app on a free loopback port in a background thread (tests, other services' tests).

The socket is bound and listening before the server starts, so a client may connect as soon as
`serving()` yields; it yields only after the app's lifespan startup has completed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from sarathi.sim.app import uvicorn_config
from sarathi.sim.settings import SimSettings

STARTUP_TIMEOUT_SECONDS = 20.0


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


T = TypeVar("T")


@dataclass(frozen=True)
class ServedSim:
    app: FastAPI
    port: int
    loop: asyncio.AbstractEventLoop  # the server's loop (its own thread)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` on the server's loop (where the sim's parts live) and return its result."""

        async def run() -> T:
            return function(*args)

        return await self.run(run())

    async def run(self, coroutine: Coroutine[Any, Any, T], limit_seconds: float = 10.0) -> T:
        """Await `coroutine` on the server's loop (within `limit_seconds`)."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coroutine, limit_seconds), self.loop)
        return await asyncio.wrap_future(future)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/feed"

    @property
    def order_update_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/order-update"


@contextmanager
def serving(app: FastAPI, settings: SimSettings) -> Iterator[ServedSim]:
    """Run `app` with the sim's uvicorn configuration until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = _Server(uvicorn_config(app, settings, port=port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"sim-{port}", daemon=True)
    thread.start()
    try:
        if not server.ready.wait(STARTUP_TIMEOUT_SECONDS) or server.should_exit or server.loop is None:
            raise RuntimeError("the sim app did not start")
        yield ServedSim(app, port, server.loop)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        sock.close()
