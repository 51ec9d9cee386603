"""Orphans adopted, duplicates closed: broker orders carrying our correlation-id scheme that our
books do not hold (a crash between the broker call and recording it, a lost commit)."""

from __future__ import annotations

from typing import Any

import nats

from sarathi.common.bus.streams import ORDER_CMD
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain.commands import CommandKind
from sarathi.orders.service import COMMAND_CONSUMER

from .harness import (
    EventLog,
    Orders,
    Sim,
    a_broker,
    a_submit,
    an_entry_id,
    an_exit,
    never_short,
    orders_running,
    settings_for,
    wait_until,
)


def _entries(orders_at_broker: list[dict[str, Any]], command_id: str) -> list[dict[str, Any]]:
    return [o for o in orders_at_broker if o["correlationId"] == command_id and o["legName"] == "ENTRY_LEG"]


async def _books_equal_broker(orders: Orders, sim: Sim, security_id: str) -> bool:
    return (await orders.nets()).get(security_id, 0) == await sim.net(security_id)


async def test_a_broker_entry_with_our_id_and_no_record_is_adopted_linked_and_announced(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """The entry reached the broker but neither its command row nor its order row exists (the
    commit was lost). It is adopted: its command re-created and marked PLACED, its fill recorded,
    and OrderAccepted / OrderFilled / PositionOpened published so risk tracks it."""
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        orphan = a_submit(option, clock=sim.clock(), command_id=an_entry_id(1))
        await orders.service.broker.place_entry(orphan)  # the call whose record was lost
        await wait_until(lambda: sim.net(option.security_id), what="orphan filled at the broker")

        await orders.service.reconciler.run_pass()

        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="PositionOpened")
        opened = orders.events.of("PositionOpened")[0]
        assert opened.net_quantity == option.lot_size  # type: ignore[attr-defined]
        assert opened.underlying == "NIFTY"  # type: ignore[attr-defined]
        assert len(orders.events.of("OrderAccepted", client_order_id=orphan.message_id)) == 1
        assert len(orders.events.of("OrderFilled", leg="ENTRY")) == 1
        assert await orders.command_status(orphan.message_id) == "PLACED"
        linked = await orders.sql(
            f"SELECT command_id FROM orders.order WHERE leg_name = 'ENTRY_LEG'"  # noqa: S608
            f" AND broker_order_id = '{_entries(await sim.broker_orders(), orphan.message_id)[0]['orderId']}'"
        )
        assert linked == [(orphan.message_id,)]
        assert await _books_equal_broker(orders, sim, option.security_id)


async def test_a_second_broker_entry_under_one_command_is_closed_as_duplicatenever_short(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    """The command is placed normally; then, while orders is down, the same order reaches the
    broker a second time (a resend after the first one's record was lost) and fills. On start-up
    the second entry is recorded apart, announced, alerted on (metric), its own legs cancelled and
    exactly its units sold with reason DUPLICATE; the first entry and its legs stay. Then an exit
    sells the rest: flat, never short."""
    option = sim.option(1)
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database)
    events = EventLog()
    submit = a_submit(option, clock=sim.clock(), command_id=an_entry_id(2))
    async with orders_running(sim, settings, events=events) as orders:
        await orders.ready()
        await orders.send(submit)
        await events.wait_for(lambda: events.of("PositionOpened"), what="first entry")
    await a_broker(sim).place_entry(submit)  # the resend: a second entry, same id
    await wait_until(lambda: _net_is(sim, option.security_id, 2 * option.lot_size), what="both filled")

    async with orders_running(sim, settings, events=events) as orders:
        await orders.ready()

        await wait_until(
            lambda: _duplicate_sold(sim, option.security_id, option.lot_size),
            what="the duplicate closed: its units sold, the broker back to one entry's units",
        )
        await wait_until(lambda: _books_equal_broker(orders, sim, option.security_id), what="books")
        first, second = await _entries_now(sim, submit.message_id)
        supers = {so["orderId"]: so for so in (await sim.state())["broker"]["superOrders"]}
        assert {leg["orderStatus"] for leg in supers[first["orderId"]]["legDetails"]} == {"PENDING"}
        assert {leg["orderStatus"] for leg in supers[second["orderId"]]["legDetails"]} == {"CANCELLED"}
        duplicate_sells = [
            o for o in await sim.broker_orders() if o["correlationId"] == f"xDU-{second['orderId']}"
        ]
        assert [(o["quantity"], o["filledQty"]) for o in duplicate_sells] == [
            (option.lot_size, option.lot_size)
        ]
        registry = orders.service.metrics.service.registry
        assert registry.get_sample_value("sarathi_orders_duplicate_orders_total") == 1
        await orders.events.wait_for(
            lambda: any(m.net_quantity == 2 * option.lot_size for m in orders.events.of("PositionChanged")),  # type: ignore[attr-defined]
            what="risk told of the duplicate's units",
        )

        await orders.send(an_exit(option, clock=sim.clock()))

        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="closed")
        assert await sim.net(option.security_id) == 0
        await wait_until(lambda: _books_equal_broker(orders, sim, option.security_id), what="books")
        assert never_short(orders.events.messages)


async def test_a_command_whose_sending_was_lost_is_not_sent_again_once_its_order_is_adopted(
    sim: Sim, jetstream_clean: str, database: str, store: Store
) -> None:
    """The command row says RECEIVED (the SENDING commit was lost) but the broker has its order.
    The start-up reconciliation adopts the order and marks the command PLACED, so the submit,
    delivered again, places nothing more: one broker entry."""
    option = sim.option(2)
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database)
    submit = a_submit(option, clock=sim.clock(), command_id=an_entry_id(3))
    async with store.transaction() as tx:  # as the handler stored it before the (lost) SENDING
        await tx.insert_command(
            command_id=submit.message_id, kind=CommandKind.SUBMIT, correlation_id=submit.correlation_id,
            payload=submit.model_dump(mode="json"), now=sim.clock().now(),
        )  # fmt: skip
    await a_broker(sim).place_entry(submit)  # the call that reached the broker before the crash

    async with orders_running(sim, settings) as orders:
        await orders.ready()
        await orders.send(submit)  # the redelivery

        await wait_until(lambda: _command_acked(jetstream_clean), what="the submit handled and acked")
        assert len(await _entries_now(sim, submit.message_id)) == 1
        assert await orders.command_status(submit.message_id) == "PLACED"
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="PositionOpened")
        await wait_until(lambda: _books_equal_broker(orders, sim, option.security_id), what="books")


async def _command_acked(nats_url: str) -> bool:
    connection = await nats.connect(nats_url)
    try:
        info = await connection.jetstream().consumer_info(ORDER_CMD.name, COMMAND_CONSUMER)
    finally:
        await connection.close()
    return bool(info.delivered.consumer_seq >= 1 and info.num_ack_pending == 0 and not info.num_pending)


async def _entries_now(sim: Sim, command_id: str) -> list[dict[str, Any]]:
    return _entries(await sim.broker_orders(), command_id)


async def _count_is(sim: Sim, command_id: str, count: int) -> bool:
    return len(await _entries_now(sim, command_id)) == count


async def _duplicate_sold(sim: Sim, security_id: str, units: int) -> bool:
    sold = [o for o in await sim.broker_orders() if o["correlationId"].startswith("xDU-") and o["filledQty"]]
    return bool(sold) and await sim.net(security_id) == units


async def _net_is(sim: Sim, security_id: str, net: int) -> bool:
    return await sim.net(security_id) == net
