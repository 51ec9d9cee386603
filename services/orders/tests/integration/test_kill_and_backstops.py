"""Kill (through the HTTP endpoint) and the broker-side P&L-exit backstop, against the real sim."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.web import protect
from sarathi.orders.api import build_router
from sarathi.orders.backstops import PnlExitArmer

from .harness import Sim, a_submit, orders_running, settings_for, wait_until

TOKEN = "operator-secret"


async def test_kill_cancels_everything_exits_every_position_and_confirms_the_account_is_flat(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    held, resting = sim.option(0), sim.option(1)
    for option in (held, resting):
        await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await orders.send(a_submit(held, clock=sim.clock(), lots=2))
        await orders.send(a_submit(resting, clock=sim.clock(), entry="95", stop="90", target="130"))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position")
        await orders.events.wait_for(
            lambda: len(orders.events.of("OrderAccepted")) == 2, what="both accepted"
        )
        app = FastAPI()
        protect(app, SecretStr(TOKEN))
        app.include_router(build_router(lambda: orders.service, kill_switch_default=False))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://orders"
        ) as http:
            body = {
                "kill_id": "kill-1",
                "reason": "test",
                "requested_by": "tester",
                "activate_kill_switch": True,
            }
            refused = await http.post("/kill", json=body, headers={"Authorization": "Bearer wrong"})
            assert refused.status_code == 401
            assert await sim.net(held.security_id) == 2 * held.lot_size  # nothing changed

            reply = await http.post(
                "/kill", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            )

        assert reply.status_code == 200, reply.text
        report = reply.json()
        assert report["flat"] is True
        assert report["kill_switch"] is True
        assert await sim.net(held.security_id) == 0
        broker = (await sim.state())["broker"]
        assert not [o for o in broker["orders"] if o["orderStatus"] in ("TRANSIT", "PENDING", "PART_TRADED")]
        assert broker["killSwitch"]["killSwitchStatus"] == "ACTIVATE"
        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="closed")
        assert orders.events.of("PositionClosed")[0].exit_reason == "KILL"  # type: ignore[attr-defined]
        sells = [o for o in broker["orders"] if o["transactionType"] == "SELL" and o["filledQty"]]
        assert [o["filledQty"] for o in sells] == [2 * held.lot_size]


async def test_the_pnl_exit_is_armed_once_per_trading_day_at_the_daily_loss_limit(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        armer = PnlExitArmer(
            orders.service.broker, sim.clock(), MarketCalendar(), loss_inr=Decimal(5000), kill_switch=True
        )
        assert await armer.arm_today() is True
        assert await armer.arm_today() is False  # once a day

        status = (await sim.state())["broker"]["pnlExit"]
        assert status["pnlExitStatus"] == "ACTIVE"
        assert Decimal(str(status["loss"])) == Decimal(5000)
        assert Decimal(str(status["profit"])) == Decimal(10_000_000)  # a ceiling, never 0
        assert status["enable_kill_switch"] is True


async def test_orders_restarted_while_the_day_is_in_profit_arms_the_pnl_exit_without_exiting_anything(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """Dhan exits everything at once when the profit value is at or below today's profit: the
    armer reads the day's profit first and arms far above it, so the position stays."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock(), entry="101", target="300", stop="50"))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position")
    await sim.script(option.security_id, [(0, "120")])

    async def in_profit() -> bool:
        positions = (await sim.state())["broker"]["positions"]
        return any(Decimal(str(p["unrealizedProfit"])) > 0 for p in positions)

    await wait_until(in_profit, what="the day in profit")

    armed = settings_for(sim, jetstream_clean, database, orders_pnl_exit_loss_inr=Decimal(5000))
    async with orders_running(sim, armed) as orders:  # the restart, mid-day, in profit
        await orders.ready()
        armer = orders.service.armer
        assert armer is not None
        await wait_until(lambda: armer.armed_on is not None, what="the P&L exit armed")
        status = (await sim.state())["broker"]["pnlExit"]
        assert status["pnlExitStatus"] == "ACTIVE"
        assert Decimal(str(status["profit"])) >= Decimal(10_000_000)
        later = sim.clock().now() + timedelta(seconds=5)
        await wait_until(lambda: sim.clock().now() >= later, what="five market seconds of matching")
        assert await sim.net(option.security_id) == option.lot_size
        assert (await sim.state())["broker"]["killSwitch"]["killSwitchStatus"] == "DEACTIVATE"
