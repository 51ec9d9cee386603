"""Publish the simulation clock so every other service runs on market time (ARCHITECTURE §5).

Each `SimClockState` (at start-up and on every set, pause and resume) goes, in order:
- to the KV key `sim_clock` of the `control` bucket: a service that starts later reads the
  current state there, then watches the key for changes;
- on the core subject `sim.clock`, for anyone who prefers a plain subscription.

The controller's listeners are synchronous, so states are queued and published by one task:
the publication order is the order of the changes, and a slow or absent NATS never blocks the
control API. A failed publication is logged and counted, and the next change retries.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import CONTROL_BUCKET
from sarathi.common.logging import get_logger
from sarathi.common.messages.sim import SimClockState
from sarathi.sim.telemetry import SimMetrics

log = get_logger(__name__)

# TODO(bus/subjects.py): move to sarathi.common.bus.subjects (owned by the bus engineer).
SIM_CLOCK_SUBJECT = "sim.clock"
# TODO(bus/streams.py): a bucket of its own (`sim_clock`) once streams.py declares one.
SIM_CLOCK_BUCKET = CONTROL_BUCKET
SIM_CLOCK_KEY = "sim_clock"


class ClockSink(Protocol):
    async def publish(self, state: SimClockState) -> None: ...


class BusClockSink:
    """The KV put and the core publish, through the bus port."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def publish(self, state: SimClockState) -> None:
        await self._bus.kv_put(SIM_CLOCK_KEY, state.encode(), bucket=SIM_CLOCK_BUCKET)
        await self._bus.publish(SIM_CLOCK_SUBJECT, state)


class LogClockSink:
    """Where the clock goes when the sim runs without NATS (`SARATHI_SIM_PUBLISH_CLOCK=false`)."""

    async def publish(self, state: SimClockState) -> None:
        log.info(
            "sim_clock",
            market_start=state.market_start.isoformat(),
            speed=str(state.speed),
            paused=state.paused,
        )


class ClockPublisher:
    """Subscribe `offer` to the controller at build time; `start` once the sink is connected."""

    def __init__(self, metrics: SimMetrics) -> None:
        self._sink: ClockSink = LogClockSink()
        self._metrics = metrics
        self._queue: asyncio.Queue[SimClockState] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def offer(self, state: SimClockState) -> None:
        """The controller's listener: queue `state` for publication."""
        self._queue.put_nowait(state)

    async def _run(self) -> None:
        while True:
            state = await self._queue.get()
            try:
                await self._sink.publish(state)
            except Exception:  # NATS down or slow: counted and logged; the next change retries
                self._metrics.clock_publish_failures.inc()
                log.exception("sim_clock_publish_failed")
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Return once every queued state has been handled (published or counted as failed)."""
        await self._queue.join()

    def start(self, sink: ClockSink, current: SimClockState) -> None:
        """Publish `current` through `sink` first, then every change offered later."""
        while not self._queue.empty():  # changes before start are superseded by `current`
            self._queue.get_nowait()
            self._queue.task_done()
        self._sink = sink
        self.offer(current)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sim-clock-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), timeout=2.0)  # flush the last change if we can
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
