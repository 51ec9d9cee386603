"""The Clock a service runs on, chosen by its mode (ARCHITECTURE §5).

- `live` and `paper`: the wall clock in IST.
- `sim`: the simulation clock the `sim` service publishes as a `SimClockState` in the KV bucket
  `control` under `sim_clock`. A service that starts before the simulator waits for the first
  state (with a timeout and a clear error), then follows every change.

`rate_limit_pacing` gives the time the service's Dhan rate limits count in, for the same mode.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import CONTROL_BUCKET, SIM_CLOCK_KEY
from sarathi.common.clock import Clock, LiveClock, SimClock
from sarathi.common.clock_hold import follow, participating
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import MessageDecodeError, decode_as
from sarathi.common.messages.sim import SimClockState
from sarathi.common.ratelimit import WALL_PACING, Pacing
from sarathi.common.settings import Mode

SIM_CLOCK_BUCKET = CONTROL_BUCKET

log = get_logger(__name__)


class ClockUnavailableError(RuntimeError):
    """In sim mode, no simulation clock was published within the wait."""


async def _first_state(bus: Bus, timeout_seconds: float) -> SimClockState:
    async def wait() -> SimClockState:
        async for entry in bus.kv_watch(SIM_CLOCK_KEY, bucket=SIM_CLOCK_BUCKET):
            if entry.value:
                return decode_as(entry.value, SimClockState)
        raise ClockUnavailableError("the sim clock watch ended before any state arrived")

    try:
        return await asyncio.wait_for(wait(), timeout_seconds)
    except TimeoutError:
        where = f"{SIM_CLOCK_BUCKET}/{SIM_CLOCK_KEY}"
        raise ClockUnavailableError(
            f"no simulation clock in KV {where} after {timeout_seconds:.0f}s: is sim running?"
        ) from None


async def _follow(bus: Bus, clock: SimClock) -> None:
    async for entry in bus.kv_watch(SIM_CLOCK_KEY, bucket=SIM_CLOCK_BUCKET):
        if not entry.value:
            continue
        try:
            state = decode_as(entry.value, SimClockState)
        except MessageDecodeError:
            log.error("sim_clock_undecodable", revision=entry.revision)
            continue
        follow(clock, state)


@asynccontextmanager
async def running_clock(
    mode: Mode, bus: Bus, *, wait_seconds: float = 30.0, service: str | None = None
) -> AsyncIterator[Clock]:
    """The service's clock for as long as the block runs (in sim mode, kept in step with sim).

    `service`: in sim mode, answer the held day's clock questions under that name
    (`sarathi.common.clock_hold`); a one-off job passes none."""
    if mode is not Mode.SIM:
        yield LiveClock()
        return
    clock = SimClock(await _first_state(bus, wait_seconds))
    log.info(
        "following_sim_clock", market_start=clock.state.market_start.isoformat(), speed=str(clock.state.speed)
    )
    follower = asyncio.create_task(_follow(bus, clock), name="sim-clock-follower")
    try:
        async with participating(service, bus, clock):
            yield clock
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


def rate_limit_pacing(mode: Mode, clock: Clock) -> Pacing:
    """Market seconds of `clock` in `sim` mode (the emulator enforces Dhan's limits in market
    time too), the monotonic wall clock otherwise. Paused market time admits nothing new."""
    if mode is not Mode.SIM:
        return WALL_PACING
    return Pacing(monotonic=lambda: clock.now().timestamp(), sleep=clock.sleep)
