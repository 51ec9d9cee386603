"""The service's clock: the wall clock in IST (live, paper), or market time following the clock
the sim publishes in KV `control`/`sim_clock` (sim mode; ARCHITECTURE §5)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import CONTROL_BUCKET
from sarathi.common.clock import Clock, LiveClock, SimClock
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import MessageDecodeError, decode_as
from sarathi.common.messages.sim import SimClockState

log = get_logger(__name__)

SIM_CLOCK_KEY = "sim_clock"  # written by the sim (sarathi.sim.clock_publisher), read here


@asynccontextmanager
async def sim_clock(bus: Bus, *, wait_seconds: float = 10.0) -> AsyncIterator[Clock]:
    """A `SimClock` following the sim's published state; the wall clock if none appears in time."""
    entry = None
    for _ in range(int(wait_seconds * 4)):
        entry = await bus.kv_get(SIM_CLOCK_KEY, bucket=CONTROL_BUCKET)
        if entry is not None:
            break
        await asyncio.sleep(0.25)
    if entry is None:
        log.warning("sim_clock_absent_using_wall_clock")
        yield LiveClock()
        return
    clock = SimClock(decode_as(entry.value, SimClockState))

    async def follow() -> None:
        async for update in bus.kv_watch(SIM_CLOCK_KEY, bucket=CONTROL_BUCKET):
            try:
                clock.update(decode_as(update.value, SimClockState))
            except MessageDecodeError:
                log.warning("sim_clock_undecodable")

    task = asyncio.create_task(follow(), name="orders-sim-clock")
    try:
        yield clock
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
