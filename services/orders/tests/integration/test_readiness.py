"""`/readyz` of orders: ready only with the order-update socket logged in and the latest
reconciliation with the broker done; otherwise 503 with the reason in words."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sarathi.orders.app import build_app
from sarathi.sim.testing.harness import SimPool

from .harness import Sim, settings_for, start_sim


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def orders_app(
    sims: SimPool, nats_url: str, database: str, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    served = start_sim(sims, sim_publish_clock=True, nats_url=nats_url)
    async with httpx.AsyncClient(base_url=served.http_url) as http:
        app = build_app(settings_for(Sim(served, http), nats_url, database, **overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
                yield client


async def _settled(client: httpx.AsyncClient, status: int, says: str = "", within: float = 20.0) -> str:
    """The `orders` check once `/readyz` answers `status` and the check contains `says` (polled:
    readiness has no event to wait on)."""

    async def poll() -> str:
        while True:
            reply = await client.get("/readyz")
            said = str(reply.json()["checks"]["orders"])
            if reply.status_code == status and says in said:
                return said
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), within)


async def test_orders_is_ready_once_logged_in_and_reconciled(
    sims: SimPool, jetstream_clean: str, database: str
) -> None:
    async with orders_app(sims, jetstream_clean, database) as client:
        said = await _settled(client, 200)
    assert said == "ok"


async def test_orders_without_its_order_update_socket_is_not_ready_and_names_the_error(
    sims: SimPool, jetstream_clean: str, database: str
) -> None:
    nowhere = f"ws://127.0.0.1:{_closed_port()}"
    async with orders_app(sims, jetstream_clean, database, dhan_order_update_url=nowhere) as client:
        said = await _settled(client, 503, "last error")
    assert said.startswith("order-update socket not logged in to Dhan (last error: ")


async def test_orders_whose_reconciliation_cannot_reach_the_broker_is_not_ready(
    sims: SimPool, jetstream_clean: str, database: str
) -> None:
    nowhere = f"http://127.0.0.1:{_closed_port()}/v2"
    async with orders_app(
        sims, jetstream_clean, database, dhan_rest_url=nowhere, orders_rest_timeout_seconds=0.5
    ) as client:
        said = await _settled(client, 503, "not done yet (last error")
    assert said.startswith("start-up reconciliation with the broker not done yet (last error: ")
