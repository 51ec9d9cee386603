"""The simulation clock, published by `sim` so every service runs on market time (ARCHITECTURE §5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

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


ALL_STREAMS = "*"  # in `ClockHeld.check_streams`: ask about every consumer and watch


@register
class ClockHeld(Message):
    """Sim → participants (sim mode only): market time stands at `at`; say when you are done.

    `phase` is `clock` once every clock has reached `at` (the loops due at `at` run), then
    `market` once the sim's market has stepped `at` (its ticks and fills are on the sockets).
    `round` counts the questions about one phase. `frames` is how many frames the sim has sent
    on each socket kind so far (`feed`, `order_update`): a participant reading one of them is
    not done before it has handled that many. `clock` is the clock state standing at `at`.
    `check_streams`: the streams (and `KV_<bucket>/<key>`s) something was stored to since the last
    question; a participant asks JetStream about its consumers and watches of those only.
    `lead`: the participant that answers this question first and then `relayed` it to the
    others on the connection its own messages went out on, so they arrive before the question.
    """

    type: Literal["ClockHeld"] = "ClockHeld"
    at: AwareDatetime
    phase: Literal["clock", "market"]
    round: int = Field(ge=1)
    frames: dict[str, int]
    clock: SimClockState
    check_streams: list[str] = Field(default_factory=list)
    lead: str | None = None
    relayed: bool = False


@register
class ClockDone(Message):
    """Participant → sim: done with `at` in `phase`/`round` (`busy` empty), or what still is
    after the participant's own timeout. `published` counts every message it ever published,
    `stored_to` names the streams it stored to since its previous answer, `sent_to_sim` counts
    its requests on the sim's sockets (the feed's subscription frames)."""

    type: Literal["ClockDone"] = "ClockDone"
    at: AwareDatetime
    phase: Literal["clock", "market"]
    round: int = Field(ge=1)
    service: str = Field(min_length=1, max_length=64)
    published: int = Field(ge=0)
    stored_to: list[str] = Field(default_factory=list)
    sent_to_sim: int = Field(default=0, ge=0)
    busy: str = ""
