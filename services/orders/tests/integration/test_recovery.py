"""Recovery: a restart mid-session, held order updates, and a burst under Dhan's rate limits."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus

from .harness import EventLog, Orders, Sim, a_submit, an_exit, orders_running, settings_for, wait_until


async def _books_match_the_broker(orders: Orders, sim: Sim) -> None:
    """Every broker order is one row of ours, every broker trade's quantity is recorded once."""
    broker = await sim.broker_orders()
    trades = (await sim.state())["broker"]["trades"]
    rows = await orders.sql("SELECT broker_order_id, count(*) FROM orders.order GROUP BY broker_order_id")
    assert dict(rows) == {o["orderId"]: 1 for o in broker}
    filled = dict(await orders.sql("SELECT broker_order_id, filled_quantity FROM orders.order"))
    assert filled == {o["orderId"]: o["filledQty"] for o in broker}
    recorded = dict(
        await orders.sql(
            "SELECT o.broker_order_id, sum(f.quantity) FROM orders.fill f"
            " JOIN orders.order o ON o.id = f.order_id GROUP BY o.broker_order_id"
        )
    )
    traded: dict[str, int] = {}
    for trade in trades:
        traded[trade["orderId"]] = traded.get(trade["orderId"], 0) + int(trade["tradedQuantity"])
    assert recorded == traded


def _unique_ids(events: EventLog) -> bool:
    ids = [m.message_id for m in events.messages]
    return len(ids) == len(set(ids))


async def test_a_restart_mid_session_restores_every_order_and_fill_without_duplicates(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """Service A places two entries and is stopped (its tasks cancelled, as by a kill). While it
    is down, one position's stop-loss fires at the broker and an exit command for the other is
    queued on the bus. Service B (same database, same durable consumer) reconciles at start-up:
    the missed stop-loss fill is recorded and announced once, then the queued exit runs."""
    first, second = sim.option(0), sim.option(2)
    for option in (first, second):
        await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database)
    events = EventLog()
    async with orders_running(sim, settings, events=events) as orders:
        await orders.ready()
        await orders.send(a_submit(first, clock=sim.clock()))
        await orders.send(a_submit(second, clock=sim.clock(), lots=2))
        await events.wait_for(lambda: len(events.of("PositionOpened")) == 2, what="two positions")

    await sim.script(first.security_id, [(0, "100"), (1, "80")])
    await wait_until(lambda: _net_is(sim, first.security_id, 0), what="stop-loss fired while down")
    queued_exit = an_exit(second, clock=sim.clock())
    bus = await NatsBus.connect(jetstream_clean, name="execution-stand-in")
    await bus.publish_durable(subjects.ORDER_CMD_EXIT, queued_exit)  # queued while orders is down
    await bus.close()
    assert not events.of("PositionClosed")

    async with orders_running(sim, settings, events=events) as orders:
        await orders.ready()
        await events.wait_for(lambda: len(events.of("PositionClosed")) == 2, what="both closed")
        await wait_until(lambda: _net_is(sim, second.security_id, 0), what="second sold")
        await orders.service.publisher.flush()
        await _books_match_the_broker(orders, sim)
        assert _unique_ids(events)
        closed = {m.security_id: m.exit_reason for m in events.of("PositionClosed")}  # type: ignore[attr-defined]
        assert closed == {first.security_id: "STOP_LOSS", second.security_id: "TRAILING"}
        stop_fills = events.of("OrderFilled", leg="STOP_LOSS")
        assert len(stop_fills) == 1
        assert len(events.of("OrderAccepted")) == 3  # two entries, one exit sell


async def _net_is(sim: Sim, security_id: str, net: int) -> bool:
    return await sim.net(security_id) == net


async def test_fills_during_held_order_updates_are_recorded_once_updates_resume(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """`pause_order_updates` holds the socket's alerts for 30 s of wall time (as the issue asks)
    while the target leg fires and fills; once updates resume the fill is recorded, exactly once,
    with no periodic reconciliation to help (its interval is set beyond the test)."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database, orders_reconcile_interval_seconds=36_000.0)
    async with orders_running(sim, settings) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock(), target="110"))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")

        await sim.fault("pause_order_updates", seconds=30)
        await sim.script(option.security_id, [(0, "100"), (1, "115")])
        await wait_until(lambda: _net_is(sim, option.security_id, 0), what="target filled at the broker")
        held = (await sim.state())["order_updates"]["held"]
        assert held > 0
        assert not orders.events.of("OrderFilled", leg="TARGET")  # nothing seen during the pause

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), within=60, what="closed")
        assert len(orders.events.of("OrderFilled", leg="TARGET")) == 1
        assert orders.events.of("PositionClosed")[0].exit_reason == "TARGET"  # type: ignore[attr-defined]
        await orders.service.publisher.flush()
        await _books_match_the_broker(orders, sim)


async def test_a_dropped_order_update_socket_reconnects_and_rereads_the_books(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """`expire_token` closes the socket; while it is down the stop-loss fires; `reset` restores
    the token; the client reconnects with backoff and its re-read records the missed fill."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database, orders_reconcile_interval_seconds=36_000.0)
    async with orders_running(sim, settings) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock()))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")

        await sim.fault("expire_token")
        await sim.script(option.security_id, [(0, "100"), (1, "80")])
        await wait_until(lambda: _net_is(sim, option.security_id, 0), what="stop-loss fired")
        await sim.fault("reset")

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="closed after re-read")
        assert orders.service.updates.connections >= 2
        assert len(orders.events.of("OrderFilled", leg="STOP_LOSS")) == 1


async def test_a_burst_of_fifty_submits_queues_behind_our_rate_limits_and_is_never_refused(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """50 entries (resting limits, below the market) at once: our limiter spaces them to Dhan's
    10 orders/s, so the sim answers no `429 DH-904` (which would show as a retried placement).

    Both sides count market seconds in sim mode; at 1x they are wall seconds, as with Dhan."""
    controller = sim.runtime.controller
    controller.set(controller.now(), Decimal(1))
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        submits = [
            a_submit(option, clock=sim.clock(), entry="95", stop="90", target="130") for _ in range(50)
        ]
        await asyncio.gather(*(orders.send(s) for s in submits))

        await orders.events.wait_for(
            lambda: len(orders.events.of("OrderAccepted")) == 50, within=60, what="50"
        )
        placed = [o for o in await sim.broker_orders() if o["legName"] == "ENTRY_LEG"]
        assert len(placed) == 50
        metrics = orders.service.metrics.service.registry
        assert (
            metrics.get_sample_value(
                "sarathi_orders_orders_total", {"outcome": "retried", "reason": "DH-904"}
            )
            is None
        )
        assert not orders.events.of("OrderRejected")
        waits = metrics.get_sample_value("sarathi_orders_rate_limit_waits_total", {"category": "orders"})
        assert waits is not None
        assert waits > 0  # the burst did queue on our side
