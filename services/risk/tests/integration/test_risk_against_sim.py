"""risk end to end: scripted premium paths in the real sim → feed → NATS → risk → orders → the
sim's paper broker, with PostgreSQL. Market time is the sim's clock (10× unless said otherwise)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from sarathi.common.bus.streams import ORDER_CMD, ORDER_EVT, RISK_EVT, TRADING_STATE_KEY
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.risk import ControlState
from sarathi.feed.app import build_app as build_feed
from sarathi.orders.app import build_app as build_orders
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.testing.harness import SimPool

from .conftest import start_sim
from .harness import World, lifespan, premium_for, world

LOCK, KEEP = Decimal(1000), Decimal("0.95")


@asynccontextmanager
async def trading(
    sims: SimPool, nats_url: str, database_url: str, tmp_path: Path, **sim_overrides: Any
) -> AsyncIterator[World]:
    """sim + feed + orders running; risk is started by each test (it restarts one)."""
    served = start_sim(sims, nats_url, **sim_overrides)
    async with AsyncExitStack() as stack:
        w = await stack.enter_async_context(world(served, nats_url, database_url, tmp_path))
        await stack.enter_async_context(lifespan(build_feed(w.feed_settings())))
        await stack.enter_async_context(lifespan(build_orders(w.orders_settings())))
        yield w


async def open_position(w: World, api: Any, option: SimInstrument) -> tuple[Decimal, int, str]:
    """Buy one lot at a premium held at 100; returns (average entry, quantity, entry order id)."""
    await w.script(option, [(0, "100")])
    submit = await w.buy(option)
    opened = await w.wait_for(lambda: w.of(ORDER_EVT.name, "PositionOpened"), "position opened")

    async def tracked() -> bool:
        return any(p["entry_order_id"] == submit.message_id for p in (await api.get("/positions")).json())

    await w.wait_for(tracked, "risk tracks the position")
    return opened[0].average_price, opened[0].net_quantity, submit.message_id


async def test_a_position_rising_to_1600_exits_at_the_first_5_second_check_at_or_below_1520(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with trading(sims, jetstream_clean, database, tmp_path) as w, w.risk() as api:
        option = w.option()
        average, quantity, entry = await open_position(w, api, option)
        peak, low = (
            premium_for(average, Decimal(1600), quantity),
            premium_for(average, Decimal(1300), quantity),
        )
        hwm = (peak - average) * quantity
        await w.script(option, [(0, average), (10, peak), (30, peak), (130, low)])  # falls ~₹3/s

        (triggered,) = await w.wait_for(
            lambda: w.of(RISK_EVT.name, "ExitTriggered"), "trailing exit", within=90
        )
        drop_per_check = (peak - low) * quantity / 100 * 5 + Decimal("0.05") * quantity
        assert triggered.reason == "TRAILING"
        assert triggered.hwm == hwm
        assert triggered.pnl <= hwm * KEEP  # at or below 95 % of the high-water mark ...
        assert triggered.pnl > hwm * KEEP - drop_per_check  # ... at the first check that saw it
        assert triggered.event_time.timestamp() % 5 < 1.0  # a 5-second check, not a tick
        (command,) = await w.of(ORDER_CMD.name, "ExitPosition")
        assert command.message_id == f"xTR-{entry}"

        (closed,) = await w.wait_for(lambda: w.of(ORDER_EVT.name, "PositionClosed"), "position closed")
        assert closed.exit_reason == "TRAILING"
        assert await w.net(option.security_id) == 0
        await w.market_sleep(15)
        assert len(await w.of(ORDER_CMD.name, "ExitPosition")) == 1  # never a second exit
        rows = (await api.get("/positions")).json()
        assert [(r["status"], r["exit_reason"], r["trail_armed"]) for r in rows] == [
            ("CLOSED", "TRAILING", True)
        ]


async def test_a_position_that_never_reaches_1000_is_never_trailed(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with trading(sims, jetstream_clean, database, tmp_path) as w, w.risk() as api:
        option = w.option(1)
        average, quantity, _ = await open_position(w, api, option)
        near = premium_for(average, Decimal(900), quantity)
        await w.script(option, [(0, average), (10, near), (30, near), (60, average)])
        await w.market_sleep(75)
        assert await w.of(RISK_EVT.name, "TrailingArmed") == []
        assert await w.of(ORDER_CMD.name, "ExitPosition") == []
        (row,) = (await api.get("/positions")).json()
        assert (row["status"], row["trail_armed"], row["hwm"]) == ("OPEN", False, None)
        assert await w.net(option.security_id) == quantity


async def test_a_daily_loss_breach_halts_and_flattens(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with (
        trading(sims, jetstream_clean, database, tmp_path) as w,
        w.risk(risk_daily_loss_limit_inr=Decimal(500)) as api,
    ):
        option = w.option(2)
        average, quantity, entry = await open_position(w, api, option)
        await w.script(option, [(0, average), (20, premium_for(average, Decimal(-800), quantity))])

        (breach,) = await w.wait_for(lambda: w.of(RISK_EVT.name, "DailyLossBreached"), "breach", within=90)
        assert breach.total_pnl <= Decimal(-500)
        entry_value = await w.bus.kv_get(TRADING_STATE_KEY)
        assert entry_value is not None
        assert decode_as(entry_value.value, ControlState).state == "HALTED"
        (command,) = await w.of(ORDER_CMD.name, "ExitPosition")
        assert (command.message_id, command.reason) == (f"xDL-{entry}", "DAILY_LOSS")
        await w.wait_for(lambda: w.of(ORDER_EVT.name, "PositionClosed"), "flat")
        assert await w.net(option.security_id) == 0
        state = (await api.get("/state")).json()
        assert (state["state"], state["actor"]) == ("HALTED", "risk")
        assert (await api.post("/resume", json={"reason": "try again"})).status_code == 409
    with psycopg.connect(database) as conn:
        audit = conn.execute("select actor, action from risk.audit_log order by id").fetchall()
    assert ("risk", "daily_loss") in audit


async def test_post_flatten_leaves_the_broker_flat_within_one_second_of_market_time(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with (
        trading(
            sims, jetstream_clean, database, tmp_path, sim_speed=Decimal(1), sim_market_step_seconds=0.05
        ) as w,
        w.risk() as api,
    ):
        option = w.option(3)
        _, quantity, entry = await open_position(w, api, option)
        assert await w.net(option.security_id) == quantity

        asked_at = w.market_now()
        reply = await api.post("/flatten", json={"reason": "integration test"})
        assert reply.status_code == 200
        assert reply.json()["exits"] == [entry]
        assert reply.json()["state"] == "ACTIVE"

        async def flat() -> bool:
            return await w.net(option.security_id) == 0

        await w.wait_for(flat, "broker flat", within=10)
        took = (w.market_now() - asked_at).total_seconds()
        assert took <= 1.0, f"flat after {took:.3f} s of market time"
        state = (await api.get("/state")).json()
        assert state["state"] == "ACTIVE"


async def test_risk_restarted_mid_trail_keeps_its_high_water_mark(
    sims: SimPool, jetstream_clean: str, database: str, tmp_path: Path
) -> None:
    async with trading(sims, jetstream_clean, database, tmp_path) as w:
        option = w.option(4)
        async with w.risk() as api:
            average, quantity, entry = await open_position(w, api, option)
            peak = premium_for(average, Decimal(1600), quantity)
            await w.script(option, [(0, peak)])

            async def armed() -> list[Any]:
                return [p for p in (await api.get("/positions")).json() if p["trail_armed"]]

            (row,) = await w.wait_for(armed, "trail armed", within=30)
        hwm = Decimal(row["hwm"])
        assert hwm >= Decimal(1600)

        # While risk is down the P&L eases to ~97 % of the mark: a forgetful restart would re-arm there.
        eased = premium_for(average, hwm * Decimal("0.97"), quantity)
        await w.script(option, [(0, eased)])
        await w.market_sleep(10)
        async with w.risk() as api:
            (row,) = (await api.get("/positions")).json()
            assert (row["trail_armed"], Decimal(row["hwm"])) == (True, hwm)
            await w.market_sleep(10)
            assert await w.of(ORDER_CMD.name, "ExitPosition") == []
            below = premium_for(average, hwm * Decimal("0.94"), quantity) - Decimal("0.05")
            await w.script(option, [(0, below)])
            (triggered,) = await w.wait_for(lambda: w.of(RISK_EVT.name, "ExitTriggered"), "exit", within=30)
            assert (triggered.reason, triggered.hwm) == ("TRAILING", hwm)
            await w.wait_for(lambda: w.of(ORDER_EVT.name, "PositionClosed"), "flat")
            assert await w.net(option.security_id) == 0
            (command,) = await w.of(ORDER_CMD.name, "ExitPosition")
            assert command.message_id == f"xTR-{entry}"
