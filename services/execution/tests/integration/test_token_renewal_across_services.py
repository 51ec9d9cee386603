"""One token for every service: orders renews mid-session through the sim's `GET /v2/RenewToken`
(which expires the old token, as Dhan's does), and the feed, execution and orders all carry on
with the new one, learnt from the shared token on NATS, without a restart.

sim (real market and master) + real NATS + real PostgreSQL; feed, execution and orders run as
their apps. Before the shared token, the feed's reconnect met 807 for good and execution's option
chain met 807/808 after a renewal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.msg import Msg
from pydantic import SecretStr

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import KvEntry
from sarathi.common.bus.streams import (
    CREDENTIALS_BUCKET,
    DHAN_ACCESS_TOKEN_KEY,
    RECONCILIATION_KEY,
    TRADING_STATE_KEY,
)
from sarathi.common.clock import IST
from sarathi.common.db import migrate
from sarathi.common.db.engine import create_engine
from sarathi.common.dhan.token_share import TokenCipher, read_shared
from sarathi.common.domain.control import (
    ReconciliationRecord,
    ReconciliationStatus,
    TradingState,
    is_reconciled,
)
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.risk import ControlState
from sarathi.common.settings import SIM_TOKEN_KEY
from sarathi.execution.app import build_app as build_execution
from sarathi.execution.refdata.sync import SyncOptions, run_sync
from sarathi.execution.settings import ExecutionSettings
from sarathi.execution.testing import a_loss_budget, a_signal
from sarathi.feed.app import build_app as build_feed
from sarathi.feed.settings import FeedSettings
from sarathi.orders.app import build_app as build_orders
from sarathi.orders.settings import OrdersSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim

from .waits import bounded, eventually, kv_entry

START = datetime(2026, 9, 15, 10, 15, tzinfo=IST)
NIFTY = Underlying.NIFTY
INDEX_TICK = subjects.tick(NIFTY.index_segment, NIFTY.spec.security_id)


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(
            real=True,
            sim_start=START,
            sim_speed=Decimal(10),
            sim_publish_clock=True,
            nats_url=jetstream_clean,
        )
    finally:
        pool.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


def sim_now(sim: ServedSim) -> datetime:
    return runtime_of(sim).controller.now()


def sim_token(sim: ServedSim) -> str:
    return str(runtime_of(sim).credentials.access_token)


class Ticks:
    """The subjects of the ticks published, in arrival order."""

    def __init__(self) -> None:
        self.subjects: list[str] = []
        self._changed = asyncio.Event()

    async def on(self, message: Msg) -> None:
        self.subjects.append(message.subject)
        self._changed.set()

    async def wait_for(self, subject: str, after: int, what: str) -> None:
        """Until a tick on `subject` arrives after the first `after` ticks."""

        async def loop() -> None:
            while subject not in self.subjects[after:]:
                self._changed.clear()
                await self._changed.wait()

        await bounded(loop(), what)


class Positions:
    """The position events orders publishes (a core subscription sees what JetStream stores)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def on(self, message: Msg) -> None:
        if message.subject == subjects.position_event("PositionOpened"):
            self.opened.set()


async def ready_to_trade(bus: NatsBus, sim: ServedSim) -> None:
    await bus.ensure_streams()
    at = sim_now(sim)
    record = ReconciliationRecord(
        status=ReconciliationStatus.DONE, reconciled=True, reason="test", at=at, last_success_at=at
    )
    await bus.kv_put(RECONCILIATION_KEY, record.encode())
    state = ControlState(
        message_id="cs-active", correlation_id="test", event_time=at, state=TradingState.ACTIVE,
        reason="test", actor="tester", updated_at=at,
    )  # fmt: skip
    await bus.kv_put(TRADING_STATE_KEY, state.encode())
    await bus.kv_put("daily_loss_budget", a_loss_budget(at).encode())


async def decisions(app: FastAPI) -> list[dict[str, object]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://execution") as client:
        reply = await client.get("/decisions", params={"underlying": NIFTY.value})
    reply.raise_for_status()
    found: list[dict[str, object]] = reply.json()["decisions"]
    return found


async def long_positions(sim: ServedSim) -> int:
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        positions = (await http.get("/sim/state")).json()["broker"]["positions"]
    return sum(1 for p in positions if int(p["netQty"]) > 0)


def sync_instruments(sim: ServedSim, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        source = f"{sim.http_url}/api-data/api-scrip-master-detailed.csv"
        assert run_sync(engine, SyncOptions(source, min_option_rows=10), sim_now(sim), lambda _: None).ok
    finally:
        engine.dispose()


async def test_after_orders_renews_the_token_ticks_option_chains_and_orders_all_continue(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    sync_instruments(sim, fresh_database_url)
    common = {"nats_url": jetstream_clean, "dhan_client_id": CLIENT_ID, "dhan_access_token": TOKEN}
    feed = FeedSettings(
        **common, dhan_feed_url=sim.feed_url, feed_recorder_directory=tmp_path,
        feed_auth_retry_initial_seconds=0.2, feed_auth_retry_max_seconds=0.5,
    )  # fmt: skip
    execution = ExecutionSettings(
        **common, database_url=fresh_database_url, dhan_rest_url=f"{sim.http_url}/v2",
        instrument_sync_on_start=False, max_signal_age_seconds=900,
    )  # fmt: skip
    orders = OrdersSettings(  # the token "expires" in 30 min, inside the 1 h renewal window: renew now
        **common, database_url=fresh_database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_order_update_url=sim.order_update_url, dhan_token_expires_at=START + timedelta(minutes=30),
        dhan_token_renew_before_seconds=3600,
    )  # fmt: skip
    bus = await NatsBus.connect(jetstream_clean, name="test")
    taps = await nats.connect(jetstream_clean)
    ticks, positions = Ticks(), Positions()
    await taps.subscribe(subjects.TICKS_ALL, cb=ticks.on)
    await taps.subscribe(subjects.POSITION_EVENTS_ALL, cb=positions.on)
    await taps.flush()
    try:
        await ready_to_trade(bus, sim)
        execution_app = build_execution(execution)
        async with lifespan(build_feed(feed)), lifespan(execution_app):
            await ticks.wait_for(INDEX_TICK, 0, "index ticks with the first token")

            async with lifespan(build_orders(orders)):
                cipher = TokenCipher(SecretStr(SIM_TOKEN_KEY))

                def renewed(entry: KvEntry) -> bool:  # orders renews at the sim, then shares it
                    return bool(entry.value) and cipher.open(entry.value).token.get_secret_value() != TOKEN

                await kv_entry(
                    bus, DHAN_ACCESS_TOKEN_KEY, renewed, "orders shared a renewed token",
                    bucket=CREDENTIALS_BUCKET,
                )  # fmt: skip
                assert sim_token(sim) != TOKEN, "orders renewed the token at the sim"
                shared = await read_shared(bus, cipher)
                assert shared is not None
                assert shared.token.get_secret_value() == sim_token(sim)  # the live one, sealed
                assert shared.version >= 1
                assert shared.expires_at is not None
                assert shared.expires_at > START + timedelta(hours=23)
                raw = await bus.kv_get("dhan_access_token", bucket="credentials")
                assert raw is not None
                assert sim_token(sim).encode() not in raw.value  # never in clear

                # The renewal closed the feed's socket (807); drop it once more for good measure.
                async with httpx.AsyncClient(base_url=sim.http_url) as http:
                    reply = await http.post("/sim/faults", json={"kind": "drop_feed"})
                    assert reply.status_code == 200
                mark = len(ticks.subjects)
                await ticks.wait_for(INDEX_TICK, mark, "ticks after the renewal")

                def reconciled(entry: KvEntry) -> bool:  # orders' books checked against the sim, new token
                    record = ReconciliationRecord.decode(entry.value)
                    return record.reason != "test" and is_reconciled(record)

                await kv_entry(bus, RECONCILIATION_KEY, reconciled, "orders reconciled with the new token")
                signal = a_signal(NIFTY, START - timedelta(minutes=5))
                await bus.publish_durable(subjects.signal(NIFTY), signal)

                async def decided() -> list[dict[str, object]]:
                    return await decisions(execution_app)

                (decision,) = await eventually(decided, "execution decided on the signal")
                assert decision["outcome"] == "PLACED", decision  # the option chain came with the new token

                await bounded(positions.opened.wait(), "the entry placed and filled with the new token")
                assert await long_positions(sim) > 0  # the sim's book moves before its order update
    finally:
        await taps.close()
        await bus.close()
