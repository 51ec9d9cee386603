"""The simulation clock is published on every change: KV `control/sim_clock` and core `sim.clock`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import nats
from nats.aio.msg import Msg

from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.messages.base import decode
from sarathi.common.messages.sim import SimClockState
from sarathi.common.metrics import ServiceMetrics
from sarathi.sim.clock import SimClockController
from sarathi.sim.clock_publisher import (
    SIM_CLOCK_BUCKET,
    SIM_CLOCK_KEY,
    SIM_CLOCK_SUBJECT,
    BusClockSink,
    ClockPublisher,
)
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.testing.harness import OPEN, SimPool

TIMEOUT = 10.0


async def test_every_clock_change_reaches_the_kv_key_and_the_subject_in_order() -> None:
    bus = InMemoryBus()
    await bus.ensure_streams()
    seen: list[SimClockState] = []

    async def on_state(message: SimClockState) -> None:
        seen.append(message)

    await bus.subscribe(SIM_CLOCK_SUBJECT, on_state, accepts=SimClockState)
    controller = SimClockController(OPEN, Decimal(1))
    publisher = ClockPublisher(SimMetrics(ServiceMetrics("sim")))
    controller.subscribe(publisher.offer)
    publisher.start(BusClockSink(bus), controller.state)
    controller.set(OPEN + timedelta(hours=1), Decimal(60))
    controller.pause()
    await asyncio.wait_for(publisher.drain(), TIMEOUT)
    await bus.settle()
    await publisher.stop()

    assert [(m.market_start, m.paused) for m in seen][:2] == [
        (OPEN, False),
        (OPEN + timedelta(hours=1), False),
    ]
    assert len(seen) == 3
    entry = await bus.kv_get(SIM_CLOCK_KEY, bucket=SIM_CLOCK_BUCKET)
    assert entry is not None
    assert decode(entry.value) == controller.state


async def test_the_served_sim_publishes_its_clock_on_nats(sims: SimPool, jetstream_clean: str) -> None:
    nc = await nats.connect(jetstream_clean)
    try:
        states: asyncio.Queue[SimClockState] = asyncio.Queue()

        async def on_message(msg: Msg) -> None:
            message = decode(msg.data)
            assert isinstance(message, SimClockState)
            await states.put(message)

        await nc.subscribe(SIM_CLOCK_SUBJECT, cb=on_message)
        await nc.flush()
        served = sims.start(sim_publish_clock=True, nats_url=jetstream_clean)
        first = await asyncio.wait_for(states.get(), TIMEOUT)
        assert first.market_start == OPEN
        async with httpx.AsyncClient(base_url=served.http_url) as http:
            assert (await http.post("/sim/clock/pause")).status_code == 200
        paused = await asyncio.wait_for(states.get(), TIMEOUT)
        assert paused.paused
        kv = await nc.jetstream().key_value(SIM_CLOCK_BUCKET)
        stored = await kv.get(SIM_CLOCK_KEY)
        assert decode(stored.value or b"") == paused
    finally:
        await nc.close()
