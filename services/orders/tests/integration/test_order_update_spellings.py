"""The order-update socket in the spelling Dhan's docs do not show (camelCase keys, title-case
status, as the official SDK's handler reads and a live platform saw in 2026): fills are recorded
from the socket itself, not only by the re-reads an unreadable frame would cause."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sarathi.sim.testing.harness import SimPool

from .harness import Orders, Sim, a_submit, orders_running, settings_for, start_sim


@pytest.fixture
async def camel_sim(sims: SimPool) -> AsyncIterator[Sim]:
    served = start_sim(sims, sim_order_update_keys="camel")
    async with httpx.AsyncClient(base_url=served.http_url, timeout=10.0) as http:
        yield Sim(served, http)


def socket_fills(orders: Orders) -> float:
    value = orders.service.metrics.service.registry.get_sample_value(
        "sarathi_orders_fills_total", {"source": "order_update"}
    )
    return value or 0.0


async def test_fills_reported_in_camel_case_are_recorded_from_the_socket(
    camel_sim: Sim, jetstream_clean: str, database: str
) -> None:
    sim = camel_sim
    option = sim.option()
    await sim.script(option.security_id, [(0, "100")])
    async with orders_running(sim, settings_for(sim, jetstream_clean, database)) as orders:
        await orders.ready()
        submit = a_submit(option, clock=sim.clock())

        await orders.send(submit)

        await orders.events.wait_for(lambda: orders.events.of("PositionOpened"), what="position opened")
        frames = (await sim.http.get("/sim/progress")).json()["order_update_frames"]
        assert frames > 0
        await orders.events.wait_for(lambda: orders.service.updates.frames >= frames, what="frames read")
        assert socket_fills(orders) >= 1, "the fill came from the camelCase alert, not a re-read"
        (filled,) = orders.events.of("OrderFilled", client_order_id=submit.message_id)
        assert filled.cumulative_quantity == option.lot_size  # type: ignore[attr-defined]
        assert await orders.nets() == {option.security_id: option.lot_size}
