"""Paper mode: the paper broker fills on real ticks taken from NATS (ARCHITECTURE §1).

The feed service publishes every tick of the real Dhan feed on core NATS at
`md.tick.<segment>.<security_id>`; `PaperTicks` subscribes to all of them (`md.tick.>`) and
folds each `Tick` into the `TickMarket` the paper broker quotes from. Handlers run on the event
loop, as the engine does, so a tick lands between two broker steps, never during one.

Core NATS is at-most-once: a tick lost while NATS is away is simply not seen, and the market
holds the last one it had (as a Dhan feed gap would). Undecodable payloads and other message
types on those subjects are dropped by the bus with a warning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus
from sarathi.common.logging import get_logger
from sarathi.common.messages.market import Tick
from sarathi.sim.market.tick_market import TickMarket
from sarathi.sim.telemetry import SimMetrics

log = get_logger(__name__)


class PaperTicks:
    """The bus side of paper mode: `Tick` messages in, the tick market updated."""

    def __init__(self, market: TickMarket, metrics: SimMetrics) -> None:
        self._market = market
        self._metrics = metrics

    async def on_tick(self, message: Tick) -> None:
        self._market.apply_tick(message)
        self._metrics.paper_ticks.inc()

    @asynccontextmanager
    async def subscribed(self, bus: Bus) -> AsyncIterator[None]:
        """Take every tick from `bus` until the block ends."""
        subscription = await bus.subscribe(subjects.tick_wildcard(), self.on_tick, accepts=Tick)
        log.info("paper_ticks_subscribed", subject=subjects.tick_wildcard())
        try:
            yield
        finally:
            await subscription.stop()
