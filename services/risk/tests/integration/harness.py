"""Real sim (Dhan emulator, scripted premiums) → feed → NATS → orders ↔ risk, with PostgreSQL.

Every service runs as in production (its `build_app`, on the sim's published market clock); the
test talks to them only through NATS, the sim's control API and risk's operator API.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
from fastapi import FastAPI

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.domain.instruments import SecurityId
from sarathi.common.domain.money import OPTION_TICK, Rounding, round_to_tick
from sarathi.common.domain.trading import EntryOrderType
from sarathi.common.messages.base import Message, decode, envelope
from sarathi.common.messages.orders import OptionContract, SubmitEntry
from sarathi.feed.settings import FeedSettings
from sarathi.orders.settings import OrdersSettings
from sarathi.risk.app import build_app as build_risk
from sarathi.risk.settings import RiskSettings
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, runtime_of
from sarathi.sim.testing.server import ServedSim

CONTROL_TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {CONTROL_TOKEN}"}
WAIT = 60.0
_ids = itertools.count(1)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@dataclass
class World:
    sim: ServedSim
    nats_url: str
    database_url: str
    bus: NatsBus
    sim_http: httpx.AsyncClient
    recordings: Path

    # -- the sim ---------------------------------------------------------------------------------

    def market_now(self) -> Any:
        return runtime_of(self.sim).controller.now()

    def option(self, index: int = 0) -> SimInstrument:
        from sarathi.common.domain.instruments import Underlying

        options: list[SimInstrument] = runtime_of(self.sim).universe.options(Underlying.NIFTY)
        return options[len(options) // 2 + index]

    async def script(self, option: SimInstrument, path: list[tuple[float, Decimal | str]]) -> None:
        body = {"security_id": option.security_id, "path": [[s, str(p)] for s, p in path]}
        reply = await self.sim_http.post("/sim/scenario", json=body)
        assert reply.status_code == 200, reply.text

    async def net(self, security_id: str) -> int:
        state = (await self.sim_http.get("/sim/state")).json()
        return sum(int(p["netQty"]) for p in state["broker"]["positions"] if p["securityId"] == security_id)

    async def market_sleep(self, seconds: float) -> None:
        """Wait until `seconds` of market time have passed (the sim clock, not the wall)."""
        until = self.market_now().timestamp() + seconds
        while self.market_now().timestamp() < until:  # noqa: ASYNC110 - the sim clock has no event to await
            await asyncio.sleep(0.02)

    # -- the services ----------------------------------------------------------------------------

    def feed_settings(self) -> FeedSettings:
        return FeedSettings(
            nats_url=self.nats_url, dhan_feed_url=self.sim.feed_url, dhan_client_id=CLIENT_ID,
            dhan_access_token=TOKEN, feed_recorder_directory=self.recordings,
        )  # fmt: skip

    def orders_settings(self) -> OrdersSettings:
        return OrdersSettings(
            nats_url=self.nats_url, database_url=self.database_url,
            dhan_rest_url=f"{self.sim.http_url}/v2", dhan_order_update_url=self.sim.order_update_url,
            dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN,
            orders_rest_timeout_seconds=2.0, orders_resolve_settle_seconds=1.0,
            orders_reconcile_interval_seconds=600.0,
        )  # fmt: skip

    def risk_settings(self, **overrides: Any) -> RiskSettings:
        values: dict[str, Any] = {
            "nats_url": self.nats_url, "database_url": self.database_url, "control_token": CONTROL_TOKEN,
            "dhan_rest_url": f"{self.sim.http_url}/v2",
        }  # fmt: skip
        values.update(overrides)
        return RiskSettings(**values)

    @asynccontextmanager
    async def risk(self, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = build_risk(self.risk_settings(**overrides))
        async with lifespan(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://risk", headers=AUTH) as client:
                yield client

    # -- the bus ---------------------------------------------------------------------------------

    async def buy(self, option: SimInstrument, *, lots: int = 1, entry: str = "101") -> SubmitEntry:
        command_id = f"sub-{next(_ids):04d}-{option.security_id[-6:]}"
        now = self.market_now()
        command = SubmitEntry(
            **envelope(message_id=command_id, correlation_id=f"trade-{command_id}", event_time=now),
            signal_id=f"sig-{command_id}", underlying=option.underlying,
            contract=OptionContract(
                security_id=SecurityId(option.security_id), segment=option.segment,
                strike=option.strike or Decimal(1), expiry=option.expiry, option_type=option.option_type,
            ),
            quantity=lots * option.lot_size, lots=lots, lot_size=option.lot_size,
            order_type=EntryOrderType.LIMIT, entry_price=Decimal(entry), target_price=Decimal("300"),
            stop_loss_price=Decimal("20"), trailing_jump=Decimal(0), pyramid_level=0,
        )  # fmt: skip
        await self.bus.publish_durable(subjects.ORDER_CMD_SUBMIT, command)
        return command

    async def stored(self, stream: str) -> list[Message]:
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            if info.state.messages == 0:
                return []
            first, last = info.state.first_seq, info.state.last_seq
            return [decode((await js.get_msg(stream, seq)).data or b"") for seq in range(first, last + 1)]
        finally:
            await nc.close()

    async def of(self, stream: str, type_name: str, **fields: Any) -> list[Any]:
        return [
            m for m in await self.stored(stream)
            if m.type == type_name and all(getattr(m, k, None) == v for k, v in fields.items())
        ]  # fmt: skip

    async def wait_for(self, check: Callable[[], Any], what: str, within: float = WAIT) -> Any:
        try:
            async with asyncio.timeout(within):
                while True:
                    result = check()
                    if asyncio.iscoroutine(result):
                        result = await result
                    if result:
                        return result
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"timed out after {within}s waiting for {what}") from None


@asynccontextmanager
async def world(sim: ServedSim, nats_url: str, database_url: str, recordings: Path) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        bus = await NatsBus.connect(nats_url, name="risk-test")
        stack.push_async_callback(bus.close)
        await bus.ensure_streams()
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=sim.http_url, timeout=10.0))
        yield World(sim, nats_url, database_url, bus, http, recordings)


def premium_for(average: Decimal, pnl: Decimal, quantity: int) -> Decimal:
    """The premium (on the tick, rounded up) at which the position's gross P&L is at least `pnl`."""
    return round_to_tick(average + pnl / quantity, OPTION_TICK, Rounding.UP)
