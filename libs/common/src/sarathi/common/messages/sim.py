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
    start, pause, resume or change of speed, so the formula never spans a change.
    """

    type: Literal["SimClockState"] = "SimClockState"
    market_start: AwareDatetime
    wall_start: AwareDatetime
    speed: PositiveDecimal
    paused: bool

    def market_time_at(self, wall: datetime) -> datetime:
        """The market time at wall-clock instant `wall` (aware), to the microsecond."""
        if self.paused:
            return self.market_start
        elapsed_us = (wall - self.wall_start) // _MICROSECOND
        return self.market_start + timedelta(microseconds=int(elapsed_us * self.speed))
