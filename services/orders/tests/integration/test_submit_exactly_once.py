"""Exactly-once submits against the real sim, NATS and PostgreSQL: timeouts, duplicates, rejects."""

from __future__ import annotations

from .harness import Orders, Sim, a_submit, orders_running, settings_for, wait_until


async def _is_placed(orders: Orders, command_id: str) -> bool:
    return await orders.command_status(command_id) == "PLACED"


async def test_a_submit_whose_reply_times_out_places_exactly_one_order_and_one_accepted_event(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """`timeout_rest`: the sim executes the placement and never answers. The adapter's timeout
    raises an unknown outcome; the service looks the order up by correlation id (not visible while
    TRANSIT, then found) instead of resubmitting."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await sim.fault("timeout_rest", count=1)
        submit = a_submit(option, clock=sim.clock())

        await orders.send(submit)

        await orders.events.wait_for(lambda: orders.events.of("OrderAccepted"), what="OrderAccepted")
        await orders.events.wait_for(lambda: orders.events.of("OrderFilled"), what="entry filled")
        await wait_until(lambda: _is_placed(orders, submit.message_id), what="command PLACED")
        entries = [
            o
            for o in await sim.broker_orders()
            if o["correlationId"] == submit.message_id and o["legName"] == "ENTRY_LEG"
        ]
        assert len(entries) == 1
        assert len(orders.events.of("OrderAccepted")) == 1
        # The unknown outcome is announced unless the order-update socket had already shown the order.
        assert len(orders.events.of("OrderStateUnknown")) <= 1
        assert (await sim.state())["faults"]["timeout_left"] == 0


async def test_the_same_submit_delivered_twice_places_one_broker_order(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """The command is published twice with the same id (JetStream de-duplicates that), and also
    handled twice directly (as a redelivery after a crash would be): one order at the broker."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        submit = a_submit(option, clock=sim.clock())

        await orders.send(submit)
        await orders.send(submit)
        await orders.events.wait_for(lambda: orders.events.of("OrderAccepted"))
        await orders.service.handler.handle(submit)  # a redelivery reaching the handler again

        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"))
        entries = [
            o
            for o in await sim.broker_orders()
            if o["correlationId"] == submit.message_id and o["legName"] == "ENTRY_LEG"
        ]
        assert len(entries) == 1
        assert len(orders.events.of("OrderAccepted")) == 1
        assert len(orders.events.of("OrderFilled", leg="ENTRY")) == 1


async def test_a_rejected_submit_publishes_dhans_reason_and_is_not_retried(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        await sim.fault(
            "reject_orders", count=2, error_code="DH-906", message="RMS: margin shortfall in test"
        )
        submit = a_submit(option, clock=sim.clock())

        await orders.send(submit)

        await orders.events.wait_for(lambda: orders.events.of("OrderRejected"), what="OrderRejected")
        rejected = orders.events.of("OrderRejected")[0]
        assert rejected.error_code == "DH-906"  # type: ignore[attr-defined]
        assert "margin shortfall" in rejected.error_message  # type: ignore[attr-defined]
        assert (await sim.state())["faults"]["reject_left"] == 1  # one placement was tried, no retry
        assert not [o for o in await sim.broker_orders() if o["correlationId"] == submit.message_id]
        assert await orders.command_status(submit.message_id) == "REJECTED"
        assert not orders.events.of("OrderAccepted")


async def test_without_order_updates_a_timed_out_submit_is_resolved_by_correlation_id(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """The same `timeout_rest` fault with the order-update socket unreachable: only the lookup by
    correlation id (404 while TRANSIT, found once the order reached the exchange) can tell that
    the order exists. One order, one `OrderStateUnknown`, then one `OrderAccepted`."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database, dhan_order_update_url="ws://127.0.0.1:9/nowhere")
    async with orders_running(sim, settings) as orders:
        await orders.service.reconciler.reconciled.wait()
        await sim.fault("timeout_rest", count=1)
        submit = a_submit(option, clock=sim.clock())

        await orders.send(submit)

        await wait_until(lambda: _is_placed(orders, submit.message_id), what="command PLACED")
        await orders.events.wait_for(lambda: orders.events.of("OrderAccepted"), what="OrderAccepted")
        entries = [
            o
            for o in await sim.broker_orders()
            if o["correlationId"] == submit.message_id and o["legName"] == "ENTRY_LEG"
        ]
        assert len(entries) == 1
        assert len(orders.events.of("OrderStateUnknown")) == 1
        assert len(orders.events.of("OrderAccepted")) == 1
        unknown_first = orders.events.messages.index(orders.events.of("OrderStateUnknown")[0])
        assert unknown_first < orders.events.messages.index(orders.events.of("OrderAccepted")[0])
