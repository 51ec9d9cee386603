"""Sticky halts: a daily-loss halt holds for the trading day whatever the P&L does next, a kill
holds until an operator clears it with a reason, both survive a restart (and a lost or overwritten
KV), and `/state` gives one account of what holds trading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from sarathi.common.bus.streams import TRADING_STATE_KEY
from sarathi.common.clock import FakeClock
from sarathi.common.domain.control import TradingState
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import ControlState
from sarathi.common.web import protect
from sarathi.risk.adapters.store import MemoryStore
from sarathi.risk.api import build_router

from ..builders import position_closed, position_opened
from .support import TOKEN, Rig, risk_running, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = Decimal(500)


@asynccontextmanager
async def operator(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    protect(app, SecretStr(TOKEN))
    app.include_router(build_router(lambda: rig.service, "ops-desk"))
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://risk", headers=AUTH) as client:
        yield client


async def breach_then_recover(rig: Rig) -> None:
    """130 units at ₹100 marked at ₹90 (−₹1,300: HALTED), then the exit fills at ₹99 (−₹130)."""
    await rig.event(position_opened("sub-0001", when=rig.clock.now(), net=130, average="100"))
    await rig.advance(5, price="90")
    assert rig.service.control.state is TradingState.HALTED
    await rig.event(position_closed("sub-0001", when=rig.clock.now(), realized="-130"))
    await rig.advance(5, price="99")


async def test_resume_is_refused_for_the_rest_of_the_day_after_a_daily_loss_halt_even_once_pnl_recovers() -> (
    None
):
    async with risk_running(risk_daily_loss_limit_inr=LIMIT) as rig, operator(rig) as api:
        await breach_then_recover(rig)
        pnl = (await api.get("/pnl")).json()
        assert Decimal(pnl["net"]) > -LIMIT  # the realized loss is well inside the limit now

        reply = await api.post("/resume", json={"reason": "the exits filled better"})

        assert reply.status_code == 409, reply.text
        assert "daily loss" in reply.json()["detail"]
        assert rig.service.control.state is TradingState.HALTED
        assert pnl["daily_loss_breached"] is True  # today's breach, not the P&L of this instant


async def test_the_next_trading_day_may_resume_after_a_daily_loss_halt() -> None:
    async with risk_running(risk_daily_loss_limit_inr=LIMIT) as rig, operator(rig) as api:
        await breach_then_recover(rig)
        rig.clock.advance(timedelta(days=1))

        reply = await api.post("/resume", json={"reason": "a new day"})

        assert reply.status_code == 200, reply.text
        assert reply.json()["state"] == "ACTIVE"


async def test_a_kill_refuses_resume_and_pause_until_cleared_with_a_reason_then_resume_works() -> None:
    async with risk_running() as rig, operator(rig) as api:
        assert (await api.post("/kill", json={"reason": "broker outage"})).json()["state"] == "HALTED"

        for path in ("/resume", "/pause"):
            refused = await api.post(path, json={"reason": "try"})
            assert refused.status_code == 409, (path, refused.text)
            assert "clear-kill" in refused.json()["detail"]
        for body in (None, {}, {"reason": ""}, {"reason": "   "}):
            assert (await api.post("/clear-kill", json=body)).status_code == 422, body
        assert rig.service.control.state is TradingState.HALTED

        cleared = await api.post("/clear-kill", json={"reason": "broker is back"})
        assert cleared.status_code == 200, cleared.text
        assert (cleared.json()["previous_state"], cleared.json()["state"]) == ("HALTED", "HALTED")
        assert (await api.post("/clear-kill", json={"reason": "again"})).status_code == 409
        assert (await api.post("/resume", json={"reason": "trade"})).json()["state"] == "ACTIVE"

        audit = [(a.action, a.actor, a.reason, a.remote_address) for a in rig.store.audits[1:]]
        assert audit == [
            ("kill", "ops-desk", "broker outage", "10.1.2.3"),
            ("clear_kill", "ops-desk", "broker is back", "10.1.2.3"),
            ("resume", "ops-desk", "trade", "10.1.2.3"),
        ]


async def test_a_kill_and_a_daily_loss_halt_survive_a_restart_that_lost_the_kv() -> None:
    store = MemoryStore()
    async with risk_running(store=store, risk_daily_loss_limit_inr=LIMIT) as rig, operator(rig) as api:
        await breach_then_recover(rig)
        await api.post("/kill", json={"reason": "and stay down"})
        now = rig.clock.now()

    # A fresh bus: the KV is empty, as after `sarathi up` started a new NATS.
    async with risk_running(store=store, clock=FakeClock(now)) as rig, operator(rig) as api:
        assert rig.service.control.state is TradingState.HALTED
        written = [a.new_state["state"] for a in store.audits if a.action == "initialize" and a.new_state]
        assert written[-1] == "HALTED"  # the empty KV was never set ACTIVE, not even for an instant
        state = (await api.get("/state")).json()
        assert [h["cause"] for h in state["halts"]] == ["KILL", "DAILY_LOSS"]
        assert (await api.post("/clear-kill", json={"reason": "checked"})).status_code == 200
        assert (await api.post("/resume", json={"reason": "go"})).status_code == 409  # the day's halt


async def test_a_state_written_elsewhere_does_not_lift_a_kill() -> None:
    async with risk_running() as rig, operator(rig) as api:
        await api.post("/kill", json={"reason": "stop"})
        now = rig.clock.now()
        active = ControlState(
            **envelope(correlation_id="nats-cli", event_time=now),
            state=TradingState.ACTIVE, reason="typed by hand", actor="someone", updated_at=now,
        )  # fmt: skip

        await rig.bus.kv_put(TRADING_STATE_KEY, active.encode())
        await rig.bus.settle()

        await wait_for(lambda: rig.service.control.state is TradingState.HALTED)
        entry = await rig.bus.kv_get(TRADING_STATE_KEY)
        assert entry is not None
        assert ControlState.model_validate_json(entry.value).state is TradingState.HALTED


async def test_state_gives_one_account_of_what_holds_a_halt() -> None:
    async with risk_running(risk_daily_loss_limit_inr=LIMIT) as rig, operator(rig) as api:
        await breach_then_recover(rig)

        state: dict[str, Any] = (await api.get("/state")).json()

        assert state["state"] == "HALTED"
        assert state["reason"].startswith("daily loss limit")
        assert [(h["cause"], h["holds_until"]) for h in state["halts"]] == [
            ("DAILY_LOSS", "end of trading day")
        ]
        assert "daily loss" in state["resume_refused"]
        assert "daily_loss_breached" not in state  # the live P&L flag said "no" beside HALTED
