"""Kill (through the HTTP endpoint) and the broker-side P&L-exit backstop, against the real sim."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.web import protect
from sarathi.orders.api import build_router
from sarathi.orders.backstops import PnlExitArmer

from .harness import Sim, a_submit, orders_running, settings_for

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
        assert status["enable_kill_switch"] is True
