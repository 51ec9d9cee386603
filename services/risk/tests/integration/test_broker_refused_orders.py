"""Dhan refusing our orders for the static IP (DH-911): sim (whitelisting another address) →
orders → NATS → risk, with PostgreSQL. One refusal, recorded as a rejection and never retried;
trading HALTED with the reason; `resume` works once the operator has fixed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from sarathi.common.bus.streams import ORDER_EVT, RISK_EVT
from sarathi.orders.app import build_app as build_orders
from sarathi.sim.testing.harness import SimPool

from .conftest import start_sim
from .harness import World, lifespan, world

NOT_US = "203.0.113.7"  # documentation address (RFC 5737): the tests run from 127.0.0.1


@asynccontextmanager
async def trading_from_another_address(
    sims: SimPool, nats_url: str, database_url: str, tmp_path: Path
) -> AsyncIterator[World]:
    served = start_sim(sims, nats_url, sim_static_ips=NOT_US)
    async with AsyncExitStack() as stack:
        w = await stack.enter_async_context(world(served, nats_url, database_url, tmp_path))
        await stack.enter_async_context(lifespan(build_orders(w.orders_settings())))
        yield w


async def halted(api: httpx.AsyncClient) -> dict[str, Any] | None:
    state: dict[str, Any] = (await api.get("/state")).json()
    return state if state["state"] == "HALTED" else None


async def test_an_entry_refused_for_ip_is_rejected_once_and_halts_trading_with_the_reason(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with trading_from_another_address(sims, jetstream_clean, database, tmp_path) as w, w.risk() as api:
        option = w.option()
        await w.script(option, [(0, "100")])

        submit = await w.buy(option)

        (rejected,) = await w.wait_for(lambda: w.of(ORDER_EVT.name, "OrderRejected"), "the rejection")
        assert (rejected.client_order_id, rejected.error_code) == (submit.message_id, "DH-911")
        state = await w.wait_for(lambda: halted(api), "trading HALTED")
        assert state["actor"] == "orders"
        assert "DH-911 Invalid IP" in state["reason"]
        assert submit.message_id in state["reason"]
        await w.market_sleep(60)  # a retry loop would have called again by now
        sim_state = (await w.sim_http.get("/sim/state")).json()
        assert sim_state["static_ip"]["refused"] == 1
        assert sim_state["broker"]["orders"] == []
        assert len(await w.of(RISK_EVT.name, "BrokerRefusedOrders")) == 1
        assert len(await w.of(ORDER_EVT.name, "OrderRejected")) == 1

        resumed = await api.post("/resume", json={"reason": "static IP whitelisted at Dhan"})
        assert (resumed.status_code, resumed.json()["state"]) == (200, "ACTIVE")
