"""Exits and kill against the real sim when Dhan's replies take their other documented shape
(super-order cancel: 202 with no body), and exits of positions above the exchange freeze quantity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from sarathi.sim.instruments import SimInstrument
from sarathi.sim.testing.harness import SimPool

from .harness import Orders, Sim, a_submit, an_exit, orders_running, settings_for, start_sim, wait_until

_OPEN = ("TRANSIT", "PENDING", "PART_TRADED")


@pytest.fixture
async def quiet_sim(sims: SimPool) -> AsyncIterator[Sim]:
    """A sim whose super-order cancels answer 202 with no body (`SARATHI_SIM_SUPER_CANCEL_REPLY`)."""
    served = start_sim(sims, sim_super_cancel_reply="empty")
    async with httpx.AsyncClient(base_url=served.http_url, timeout=10.0) as http:
        yield Sim(served, http)


async def _open_position(orders: Orders, option: SimInstrument, sim: Sim, *lots: int) -> int:
    """Entries of `lots` each (each below the freeze), all filled; the broker's net."""
    for n in lots:
        await orders.send(a_submit(option, clock=sim.clock(), lots=n))
    total = sum(lots) * option.lot_size
    await wait_until(lambda: _net_is(sim, option, total), what=f"net {total}")
    return total


async def _net_is(sim: Sim, option: SimInstrument, quantity: int) -> bool:
    return await sim.net(option.security_id) == quantity


async def _list(orders: Orders, option: SimInstrument) -> None:
    """The contract in the reference data, as the instrument sync writes it from the master."""
    async with orders.service.store.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO refdata.derivative (security_id, exchange_segment, underlying, expiry, strike,"
                " option_type, lot_size, tick_size, freeze_quantity, trading_symbol, synced_at) VALUES"
                " (:sid, :seg, :und, :exp, :strike, :type, :lot, :tick, :freeze, :symbol, :at)"
            ),
            {
                "sid": option.security_id, "seg": option.segment.wire, "und": option.underlying.value,
                "exp": option.expiry, "strike": option.strike, "type": str(option.option_type),
                "lot": option.lot_size, "tick": option.tick_size, "freeze": option.freeze_qty,
                "symbol": option.symbol, "at": datetime.now(UTC),
            },
        )  # fmt: skip


async def test_an_exit_completes_in_one_handling_when_the_super_order_cancel_answers_with_no_body(
    quiet_sim: Sim, jetstream_clean: str, database: str
) -> None:
    """`SARATHI_SIM_SUPER_CANCEL_REPLY=empty`: every leg cancel answers 202 with no body. The exit
    cancels both legs and sells the net in one handling of the command (before: a schema error
    out of the first cancel aborted it half way, legs cancelled and nothing sold)."""
    sim = quiet_sim
    option = sim.option(2)
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        held = await _open_position(orders, option, sim, 2)
        exit_command = an_exit(option, clock=sim.clock())

        await orders.service.handler.handle(exit_command)  # raises if the exit aborts

        await wait_until(lambda: _net_is(sim, option, 0), what="flat")
        broker = await sim.broker_orders()
        sells = [o for o in broker if o["correlationId"] == exit_command.message_id]
        assert [(o["quantity"], o["filledQty"]) for o in sells] == [(held, held)]
        legs = [o for o in broker if o["legName"] in ("TARGET_LEG", "STOP_LOSS_LEG")]
        assert legs
        assert {o["orderStatus"] for o in legs} == {"CANCELLED"}


async def test_a_kill_completes_when_cancels_answer_with_no_body_and_reads_both_kill_switch_sentences(
    quiet_sim: Sim, jetstream_clean: str, database: str
) -> None:
    sim = quiet_sim
    held, resting = sim.option(0), sim.option(1)
    for option in (held, resting):
        await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await _open_position(orders, held, sim, 1)
        await orders.send(a_submit(resting, clock=sim.clock(), entry="95", stop="90", target="130"))
        await orders.events.wait_for(lambda: len(orders.events.of("OrderAccepted")) == 2, what="accepted")

        report = await orders.service.killer.kill("kill-empty-1", activate_kill_switch=True)

        assert report.flat is True, report
        assert report.errors == ()
        assert report.kill_switch is True  # "Kill Switch has been successfully activated"
        assert await sim.net(held.security_id) == 0
        assert not [o for o in await sim.broker_orders() if o["orderStatus"] in _OPEN]
        # "... successfully deactivated" is not active (it contains "activated")
        assert await orders.service.broker.set_kill_switch(False) is False
        assert (await sim.state())["broker"]["killSwitch"]["killSwitchStatus"] == "DEACTIVATE"


async def test_a_position_above_the_freeze_quantity_exits_in_slices_below_it_and_ends_flat(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """Three entries (27 + 27 + 1 NIFTY lots, each below the freeze of 1756) hold 3575 units: one
    sell of 3575 is rejected as the exchange does; the exit sells 1755 + 1755 + 65 instead."""
    option = sim.option(3)
    assert (option.lot_size, option.freeze_qty) == (65, 1756)
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await _list(orders, option)
        held = await _open_position(orders, option, sim, 27, 27, 1)
        assert held == 3575 > option.freeze_qty
        exit_command = an_exit(option, clock=sim.clock())

        await orders.send(exit_command)

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="position closed")
        assert await sim.net(option.security_id) == 0
        sells = [o for o in await sim.broker_orders() if o["transactionType"] == "SELL"]
        assert sorted((o["quantity"], o["filledQty"]) for o in sells if o["filledQty"]) == [
            (65, 65), (1755, 1755), (1755, 1755)
        ]  # fmt: skip
        assert all(o["quantity"] < option.freeze_qty for o in sells)
        assert not [o for o in sells if o["orderStatus"] == "REJECTED"]
        query = "SELECT status, payload->>'quantity' FROM orders.command WHERE payload->>'slice_of' = '{}'"
        statuses = await orders.sql(query.format(exit_command.message_id))
        assert sorted(statuses) == [("PLACED", "1755"), ("PLACED", "65")]
        positions = orders.events.of("PositionChanged") + orders.events.of("PositionClosed")
        assert all(p.net_quantity >= 0 for p in positions)  # type: ignore[attr-defined]
