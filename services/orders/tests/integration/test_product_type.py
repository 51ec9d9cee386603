"""The product type: every order row records the productType the broker was sent."""

from __future__ import annotations

from .harness import Sim, a_submit, an_exit, orders_running, settings_for


async def test_an_exit_under_margin_is_recorded_as_the_margin_order_it_was_sent_as(
    sim: Sim, jetstream_clean: str, database: str
) -> None:
    option = sim.option(3)
    await sim.script(option.security_id, [(0, "100")])
    settings = settings_for(sim, jetstream_clean, database, orders_product_type="MARGIN")
    async with orders_running(sim, settings) as orders:
        await orders.ready()
        await orders.send(a_submit(option, clock=sim.clock()))
        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")
        exit_command = an_exit(option, clock=sim.clock())
        await orders.send(exit_command)
        await orders.events.wait_for(lambda: orders.events.of("PositionClosed"), what="position closed")
        assert await sim.net(option.security_id) == 0

        sent = {o["orderId"]: o["productType"] for o in await sim.broker_orders()}
        recorded = dict(await orders.sql("SELECT broker_order_id, product FROM orders.order"))
        exit_rows = await orders.sql(
            f"SELECT product FROM orders.order WHERE command_id = '{exit_command.message_id}'"  # noqa: S608
        )
        assert exit_rows == [("MARGIN",)]
        assert set(sent.values()) == {"MARGIN"}
        assert {oid: recorded[oid] for oid in sent if oid in recorded} == {
            oid: sent[oid] for oid in sent if oid in recorded
        }
