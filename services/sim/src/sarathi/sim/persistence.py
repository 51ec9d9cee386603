"""What of the sim survives a restart (`SARATHI_SIM_STATE_DIR`), and when it is written.

A snapshot (`state_store`) holds the paper broker (`broker.state`), the order-update socket's
frame count (`/sim/progress`), the clock (the market instant reached, the speed, paused or not)
and what the market was (source, seed, the trading day its universe and model were built for).
At start `read_state` returns it; the runtime then starts the clock at the saved instant (never
earlier than anything the broker saw), builds the universe and the market model for the saved
trading day with the same seed — the synthetic market is a pure function of (seed, day,
instant), so its price path goes on exactly where it stood, no jump — and puts the broker's
books back.

`StatePersister.save` writes a snapshot; it is called after every request that changed the broker
or the clock (a placement, a cancel, a pause, a new speed ...: any non-GET request that did, and
the answer leaves only once the snapshot is durable; a moved `run_until` barrier alone does not
count), after every engine step that changed the broker, at least every `interval` wall seconds
while the clock runs (so market time is kept), and at shutdown. Not kept: scripted scenarios
(`/sim/scenario`), faults, a `run_until` barrier (its driver is gone after a restart), the feed
socket counters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sarathi.common.logging import get_logger
from sarathi.common.messages.sim import SimClockState
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.broker.state import dump_broker
from sarathi.sim.clock import SimClockController
from sarathi.sim.engine import is_restart
from sarathi.sim.settings import SimSettings
from sarathi.sim.state_store import StateStore, StateStoreError
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws.order_updates import OrderUpdateHub

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SavedClock:
    market_now: datetime
    speed: Decimal
    paused: bool


@dataclass(frozen=True, slots=True)
class SavedState:
    clock: SavedClock
    trading_day: date
    broker: dict[str, Any]
    order_update_frames: int
    generation: int


def market_identity(settings: SimSettings) -> dict[str, Any]:
    """What must match for a snapshot to continue: the same market, the same seed."""
    replay = settings.sim_replay_file
    return {
        "source": settings.market_source.value,
        "seed": settings.sim_seed,
        "replay_file": None if replay is None else str(replay.resolve()),
    }


def read_state(settings: SimSettings, store: StateStore) -> SavedState | None:
    """The saved state to continue from, None on a first start; StateStoreError if it cannot be."""
    snapshot = store.load()
    if snapshot is None:
        return None
    body = snapshot.body
    try:
        market, clock = body["market"], body["clock"]
        saved = SavedState(
            clock=SavedClock(
                market_now=datetime.fromisoformat(clock["market_now"]),
                speed=Decimal(clock["speed"]),
                paused=bool(clock["paused"]),
            ),
            trading_day=date.fromisoformat(body["trading_day"]),
            broker=body["broker"],
            order_update_frames=int(body["order_update_frames"]),
            generation=snapshot.generation,
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise StateStoreError(f"malformed sim state in {store.directory}: {problem}") from None
    wanted = market_identity(settings)
    if market != wanted:
        raise StateStoreError(
            f"the sim state in {store.directory} was written for market {market}, this sim runs {wanted}: "
            "start it with the same settings, or with an empty SARATHI_SIM_STATE_DIR"
        )
    return saved


class StatePersister:
    def __init__(
        self,
        store: StateStore,
        *,
        settings: SimSettings,
        broker: PaperBroker,
        controller: SimClockController,
        order_updates: OrderUpdateHub,
        trading_day: date,
        metrics: SimMetrics,
        monotonic: Callable[[], float],
        interval_seconds: float,
    ) -> None:
        self._store = store
        self._identity = market_identity(settings)
        self._broker = broker
        self._controller = controller
        self._order_updates = order_updates
        self._trading_day = trading_day
        self._metrics = metrics
        self._monotonic = monotonic
        self._interval = interval_seconds
        self._lock = asyncio.Lock()
        self._saved_changes = -1
        self._saved_at = float("-inf")
        self._clock_changed = False  # restarted, paused, resumed or sped up since the last save
        self._clock_state = controller.state
        controller.subscribe(self._on_clock)
        self.failing: str | None = None  # why the last save failed (readiness reports it)

    def _on_clock(self, state: SimClockState) -> None:
        previous, self._clock_state = self._clock_state, state
        if state.paused != previous.paused or state.speed != previous.speed or is_restart(previous, state):
            self._clock_changed = True  # a moved `run_until` barrier alone changes nothing kept

    def body(self) -> dict[str, Any]:
        state = self._controller.state
        return {
            "market": self._identity,
            "trading_day": self._trading_day.isoformat(),
            "clock": {
                "market_now": self._controller.now().isoformat(),
                "speed": str(state.speed),
                "paused": state.paused,
            },
            "broker": dump_broker(self._broker),
            "order_update_frames": self._order_updates.frames_sent,
        }

    def save_now(self) -> None:
        """Write a snapshot synchronously (at start, before anything is served)."""
        self._store.save(self.body())
        self._saved_changes, self._saved_at = self._broker.changes, self._monotonic()
        self._clock_changed = False

    @property
    def changed(self) -> bool:
        """The broker or the clock changed since the last snapshot (market time running aside)."""
        return self._broker.changes != self._saved_changes or self._clock_changed

    async def save_if_changed(self) -> None:
        if self.changed:
            await self.save()

    async def save(self) -> None:
        """Write a snapshot of the state as it stands now; returns once it is durable."""
        async with self._lock:
            changes, body, self._clock_changed = self._broker.changes, self.body(), False
            try:
                generation = await asyncio.to_thread(self._store.save, body)
            except StateStoreError as exc:
                self._clock_changed = True  # try again at the next occasion
                self._metrics.state_save_errors.inc()
                if self.failing is None:
                    log.error("sim_state_save_failed", error=str(exc))
                self.failing = str(exc)
                return
            if self.failing is not None:
                log.info("sim_state_save_recovered", generation=generation)
            self.failing = None
            self._saved_changes, self._saved_at = changes, self._monotonic()

    async def after_step(self, _at: datetime) -> None:
        """After an engine step: save if the broker changed, or the clock ran `interval` unsaved."""
        if self.changed or self._monotonic() - self._saved_at >= self._interval:
            await self.save()

    async def ready(self) -> None:
        if self.failing is not None:
            raise OSError(f"the sim state is not being saved: {self.failing}")
