"""Sticky halts on the real stores: PostgreSQL keeps them (and the operator's clearing of a kill),
a restarted risk service on real NATS holds trading HALTED though the KV was overwritten, and the
Derivative table names the contracts the operator sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import httpx
import psycopg
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.streams import TRADING_STATE_KEY
from sarathi.common.clock import FakeClock
from sarathi.common.db.engine import create_async_engine
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import ControlState
from sarathi.common.settings import SarathiSettings
from sarathi.common.web import protect
from sarathi.risk.adapters.refdata import DerivativeNames
from sarathi.risk.adapters.store import PostgresStore
from sarathi.risk.api import build_router
from sarathi.risk.domain.control import Halt, HaltCause
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.service import RiskService
from sarathi.risk.settings import RiskSettings

TOKEN = "durable-token"
NOW = datetime(2026, 9, 15, 11, 10, tzinfo=IST)
DAY = NOW.date()


@asynccontextmanager
async def engine_for(database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(SarathiSettings(database_url=database))
    try:
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def risk_api(nats_url: str, database: str) -> AsyncIterator[tuple[RiskService, httpx.AsyncClient]]:
    settings = RiskSettings(nats_url=nats_url, database_url=database, control_token=SecretStr(TOKEN))
    bus = await NatsBus.connect(nats_url, name="risk-durable-test")
    try:
        await bus.ensure_streams()
        async with engine_for(database) as engine:
            service = RiskService(settings, bus, FakeClock(NOW), PostgresStore(engine), RiskMetrics())
            async with service.running():
                app = FastAPI()
                protect(app, SecretStr(TOKEN))
                app.include_router(build_router(lambda: service, "ops-desk"))
                transport = httpx.ASGITransport(app=app)
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://risk", headers=headers
                ) as api:
                    yield service, api
    finally:
        await bus.close()


async def test_a_kill_holds_across_a_restart_though_the_kv_was_overwritten(
    jetstream_clean: str, database: str
) -> None:
    async with risk_api(jetstream_clean, database) as (_, api):
        assert (await api.post("/kill", json={"reason": "runaway"})).json()["state"] == "HALTED"
    bus = await NatsBus.connect(jetstream_clean, name="someone-else")
    active = ControlState(
        **envelope(correlation_id="nats-cli", event_time=NOW),
        state=TradingState.ACTIVE, reason="typed by hand", actor="someone", updated_at=NOW,
    )  # fmt: skip
    await bus.kv_put(TRADING_STATE_KEY, active.encode())
    await bus.close()

    async with risk_api(jetstream_clean, database) as (service, api):
        assert service.control.state is TradingState.HALTED
        assert (await api.post("/resume", json={"reason": "restarted"})).status_code == 409
        assert (await api.post("/clear-kill", json={"reason": "checked the books"})).status_code == 200
        assert (await api.post("/resume", json={"reason": "trade"})).json()["state"] == "ACTIVE"

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "select cause, actor, reason, cleared_by, clear_reason from risk.trading_halt"
        ).fetchall()
        audit = conn.execute("select action from risk.audit_log order by id").fetchall()
    assert rows == [("KILL", "ops-desk", "runaway", "ops-desk", "checked the books")]
    assert [a for (a,) in audit] == ["initialize", "kill", "reassert_halt", "clear_kill", "resume"]


async def test_the_store_keeps_the_days_loss_halt_for_its_day_and_a_kill_until_cleared(database: str) -> None:
    async with engine_for(database) as engine:
        store = PostgresStore(engine)
        loss = Halt(HaltCause.DAILY_LOSS, DAY, NOW, "risk", "daily loss limit ₹5000 breached")
        kill = Halt(HaltCause.KILL, DAY, NOW + timedelta(minutes=1), "ops", "stop")
        await store.record_halt(loss)
        await store.record_halt(kill)

        today = await store.load_halts(DAY)
        tomorrow = await store.load_halts(DAY + timedelta(days=1))
        cleared = await store.clear_kill(NOW + timedelta(minutes=2), "ops", "all clear")
        after = await store.load_halts(DAY)

    assert (today.daily_loss, today.kill) == (loss, kill)
    assert (tomorrow.daily_loss, tomorrow.kill) == (None, kill)
    assert (cleared, after.kill, after.daily_loss) == (1, None, loss)


async def test_contract_names_come_from_the_derivative_listed_when_the_position_opened(database: str) -> None:
    with psycopg.connect(database) as conn:
        for expiry in (date(2026, 9, 8), date(2026, 9, 22)):  # a security id recycled after expiry
            conn.execute(
                "insert into refdata.derivative (security_id, exchange_segment, underlying, expiry, strike,"
                " option_type, lot_size, tick_size, trading_symbol, synced_at)"
                " values ('52175', 'NSE_FNO', 'NIFTY', %s, 24200, 'CE', 65, 0.05, 'NIFTY-X', now())",
                (expiry,),
            )
    async with engine_for(database) as engine:
        names = DerivativeNames(engine)
        found = await names.contract(ContractKey(ExchangeSegment.NSE_FNO, "52175"), DAY)
        unknown = await names.contract(ContractKey(ExchangeSegment.NSE_FNO, "99999"), DAY)

    assert found is not None
    assert (found.name, found.lot_size, found.strike) == ("NIFTY 24200 CE 22-Sep", 65, Decimal(24200))
    assert unknown is None
