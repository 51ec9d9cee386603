"""The exit protocol against the real sim: a stop-loss leg that fires while an exit is in progress."""

from __future__ import annotations

from .harness import Orders, Sim, a_submit, an_exit, orders_running, settings_for, wait_until


async def _delay_taken(sim: Sim) -> bool:
    return int((await sim.state())["faults"]["delay_left"]) == 0


async def test_a_stop_loss_that_fires_during_an_exit_leaves_the_position_flat_never_short(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """The exit's first read (the super-order list) is answered late (`delay_rest`): the sim
    computes it at once — legs still resting — and holds the reply 1.2 s. Only after the sim has
    taken that read is the premium scripted through the stop, so the stop-loss leg fires while
    the exit is working from a stale view. The exit then cancels legs that no longer rest
    ("Nothing to Cancel"), reads the broker's net quantity (0) and sells nothing."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database, orders_reconcile_interval_seconds=36_000.0)
    async with orders_running(sim, settings) as orders:
        await orders.ready()
        submit = a_submit(option, clock=sim.clock(), entry="101", stop="90", target="130")
        await orders.send(submit)
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")
        assert await sim.net(option.security_id) == option.lot_size

        await sim.fault("delay_rest", ms=1200, count=1)  # under our 2 s REST timeout
        exit_command = an_exit(option, clock=sim.clock())
        await orders.send(exit_command)
        await wait_until(lambda: _delay_taken(sim), what="the exit's first read reached the sim")
        await sim.script(option.security_id, [(0, "100"), (1, "80")])

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="position closed")
        await wait_until(lambda: _status_is(orders, exit_command.message_id, "DONE"), what="exit done")
        assert await sim.net(option.security_id) == 0
        assert orders.service.exits.nothing_to_cancel >= 1  # the exit did act on the stale view
        sells = [o for o in await sim.broker_orders() if o["transactionType"] == "SELL"]
        assert [o["legName"] for o in sells if o["filledQty"]] == ["STOP_LOSS_LEG"]
        assert not [o for o in sells if o["correlationId"] == exit_command.message_id]
        closed = orders.events.of("PositionClosed")
        assert len(closed) == 1
        assert closed[0].exit_reason == "STOP_LOSS"  # type: ignore[attr-defined]
        positions = orders.events.of("PositionOpened") + orders.events.of("PositionChanged") + closed
        assert all(p.net_quantity >= 0 for p in positions)  # type: ignore[attr-defined]


async def test_an_exit_cancels_the_resting_legs_and_sells_exactly_the_net_quantity(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    option = sim.option(1)
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock(), lots=2))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")

        exit_command = an_exit(option, clock=sim.clock())
        await orders.send(exit_command)
        await orders.send(an_exit(option, clock=sim.clock()))  # a second exit finds nothing to sell

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="position closed")
        assert await sim.net(option.security_id) == 0
        sells = [o for o in await sim.broker_orders() if o["correlationId"] == exit_command.message_id]
        assert [(o["quantity"], o["filledQty"]) for o in sells] == [
            (2 * option.lot_size, 2 * option.lot_size)
        ]
        legs = [o for o in await sim.broker_orders() if o["legName"] in ("TARGET_LEG", "STOP_LOSS_LEG")]
        assert {o["orderStatus"] for o in legs} == {"CANCELLED"}
        closed = orders.events.of("PositionClosed")
        assert len(closed) == 1
        assert closed[0].exit_reason == "TRAILING"  # type: ignore[attr-defined]
        assert (
            len([o for o in await sim.broker_orders() if o["transactionType"] == "SELL" and o["filledQty"]])
            == 1
        )


async def _status_is(orders: Orders, command_id: str, status: str) -> bool:
    return await orders.command_status(command_id) == status
