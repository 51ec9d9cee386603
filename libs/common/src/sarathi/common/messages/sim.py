"""The simulation clock, published by `sim` so every service runs on market time (ARCHITECTURE §5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime

from sarathi.common.messages.base import Message, register
from sarathi.common.messages.fields import PositiveDecimal

_MICROSECOND = timedelta(microseconds=1)


@register
class SimClockState(Message):
    """Market time as a function of wall time: an anchor pair and a speed.

    While running, market time is `market_start + (wall − wall_start) × speed`; while paused it
    stays at `market_start`. The simulator publishes a new state (a new anchor pair) on every
    start, pause, resume, change of speed or of `run_until`, so the formula never spans a change.

    `run_until`, when set, is a barrier: market time stops there, on every clock that follows
    this state at once, until a state with a later barrier (or none) is published. A driver that
    must not let the market move on while the system is still busy (the simulated day waits at
    each bar close until every decision is made) moves the barrier forward step by step.
    """

    type: Literal["SimClockState"] = "SimClockState"
    market_start: AwareDatetime
    wall_start: AwareDatetime
    speed: PositiveDecimal
    paused: bool
    run_until: AwareDatetime | None = None

    def market_time_at(self, wall: datetime) -> datetime:
        """The market time at wall-clock instant `wall` (aware), to the microsecond."""
        if self.paused:
            return self.market_start
        elapsed_us = (wall - self.wall_start) // _MICROSECOND
        market = self.market_start + timedelta(microseconds=int(elapsed_us * self.speed))
        return market if self.run_until is None else min(market, self.run_until)

    def stopped_at(self, market: datetime) -> bool:
        """Whether market time stands still at `market`: paused, or held at the barrier."""
        return self.paused or (self.run_until is not None and market >= self.run_until)
