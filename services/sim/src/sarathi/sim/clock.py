"""The simulation clock the sim owns and publishes: start instant, speed, pause and resume.

`SimClockController` is the authority; it keeps a `SimClock` (from `sarathi.common`) in step for
its own loops, and tells listeners (the NATS publisher, the control API) about every change as a
`SimClockState`, the message every other service follows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sarathi.common.clock import SimClock, wall_clock
from sarathi.common.domain.calendar import require_aware
from sarathi.common.messages.base import new_message_id
from sarathi.common.messages.sim import SimClockState

MIN_SPEED = Decimal(1)
MAX_SPEED = Decimal(2000)

ClockListener = Callable[[SimClockState], None]


class ClockSettingError(ValueError):
    """A start instant or speed the clock cannot take."""


class SimClockController:
    def __init__(self, start: datetime, speed: Decimal, *, wall: Callable[[], datetime] = wall_clock) -> None:
        self._wall = wall
        self._listeners: list[ClockListener] = []
        self._barrier: datetime | None = None  # the last `run_until`: a hold never passes it
        self._next_hold: datetime | None = None  # a hold asked for while paused
        self.holding = False  # the held day: market time moves only by `hold_at`, never runs
        self._state = self._make_state(start, speed, paused=False)
        self.clock = SimClock(self._state, wall=wall)

    def _make_state(
        self,
        market: datetime,
        speed: Decimal,
        *,
        paused: bool,
        run_until: datetime | None = None,
        wall: datetime | None = None,
    ) -> SimClockState:
        require_aware(market)
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ClockSettingError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}")
        return SimClockState(
            message_id=new_message_id(),
            correlation_id="sim-clock",
            event_time=market,
            market_start=market,
            wall_start=self._wall() if wall is None else wall,
            speed=speed,
            paused=paused,
            run_until=run_until,
        )

    @property
    def state(self) -> SimClockState:
        return self._state

    def now(self) -> datetime:
        return self.clock.now()

    def subscribe(self, listener: ClockListener) -> None:
        self._listeners.append(listener)

    def _publish(self, state: SimClockState) -> None:
        self._state = state
        self.clock.update(state)
        for listener in self._listeners:
            listener(state)

    def set(self, start: datetime, speed: Decimal, *, paused: bool = False) -> SimClockState:
        """Restart market time at `start`, running at `speed` (market seconds per wall second),
        or held at `start` if `paused` (a restored clock that was paused)."""
        self._barrier = self._next_hold = None
        self._publish(self._make_state(start, speed, paused=paused, run_until=self._held(None, start)))
        return self._state

    def _held(self, barrier: datetime | None, market: datetime) -> datetime | None:
        """The state's `run_until`: the barrier, or while `holding` where market time stands."""
        if not self.holding:
            return barrier
        return market if barrier is None else min(barrier, market)

    def pause(self) -> SimClockState:
        if not self._state.paused:
            state = self._state
            self._publish(self._make_state(self.now(), state.speed, paused=True, run_until=state.run_until))
        return self._state

    def resume(self) -> SimClockState:
        if self._state.paused:
            state = self._state
            held = self._held(state.run_until, state.market_start)
            self._publish(self._make_state(state.market_start, state.speed, paused=False, run_until=held))
            if self._next_hold is not None:
                self.hold_at(self._next_hold)
        return self._state

    def hold_at(self, instant: datetime) -> SimClockState:
        """Move market time straight to `instant` and hold it there (the held day's next step),
        never past the `run_until` barrier; while paused, on the resume."""
        state = self._state
        target = instant if self._barrier is None else min(instant, self._barrier)
        if state.paused:
            self._next_hold = target
            return state
        self._next_hold = None
        market = state.market_time_at(self._wall())
        if target <= market:
            return state
        self._publish(self._make_state(target, state.speed, paused=False, run_until=target))
        return self._state

    def run_until(self, barrier: datetime | None) -> SimClockState:
        """Hold market time at `barrier` once it gets there (None: run on); the timeline continues.

        The new anchor is the market time of the old state at the same wall instant, so no clock
        following the states jumps, and the engine keeps its grid (`is_continuation`).
        """
        state, wall = self._state, self._wall()
        market = state.market_time_at(wall)
        self._barrier, self._next_hold = barrier, None
        if barrier is not None and require_aware(barrier) < market:
            raise ClockSettingError(
                f"run_until {barrier.isoformat()} is before market time {market.isoformat()}"
            )
        self._publish(
            self._make_state(
                market, state.speed, paused=state.paused, run_until=self._held(barrier, market), wall=wall
            )
        )
        return self._state
