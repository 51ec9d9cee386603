"""Test doubles for the sim's market model and paper broker (deterministic, tiny).

`FakeMonotonic` is a wall clock the tests move (the rate limiter's `monotonic`). `ToyMarket`
prices every instrument as a pure function of (seed, security id, instant), so the same seed
gives the same quotes; `RecordingBroker` records the steps it is given, emits
whatever alerts a test hands it and reports whatever activity a test sets.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sarathi.common.domain.instruments import Underlying
from sarathi.sim.broker.port import AlertListener, BrokerActivity, OrderAlert
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import Quote

_TICK = Decimal("0.05")


class FakeMonotonic:
    """A monotonic clock in seconds that moves only when a test sets `now`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ToyMarket:
    def __init__(self, universe: Universe, seed: int = 1) -> None:
        self._universe = universe
        self._seed = seed
        self.scripts: list[tuple[str, datetime, list[tuple[float, Decimal]]]] = []

    @property
    def universe(self) -> Universe:
        return self._universe

    def _noise(self, security_id: str, at: datetime, salt: str = "") -> int:
        key = f"{self._seed}:{security_id}:{at.timestamp():.6f}:{salt}".encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        noise = self._noise(instrument.security_id, at)
        second = at.replace(microsecond=0)
        if instrument.is_index:
            ltp = Decimal(24000) + Decimal(noise % 20000 - 10000) / 100
            return Quote(
                instrument.security_id, at, ltp, second, 0, Decimal(0), Decimal(0), 0, 0, 0, 0,
                Decimal(23900), ltp.max(Decimal(24100)), ltp.min(Decimal(23800)), Decimal("23950.55"),
                0, Decimal(0),
            )  # fmt: skip
        ltp = Decimal(100) + _TICK * (noise % 400 - 200)
        volume = 1_000_000 + noise % 100_000
        oi = 3_000_000 + self._noise(instrument.security_id, at, "oi") % 50_000
        return Quote(
            security_id=instrument.security_id,
            at=at,
            ltp=ltp,
            last_trade_time=second,
            last_qty=instrument.lot_size * (1 + noise % 5),
            bid=ltp - _TICK,
            ask=ltp + _TICK,
            bid_qty=instrument.lot_size * 10,
            ask_qty=instrument.lot_size * 12,
            volume=volume,
            oi=oi,
            open=Decimal("95.5"),
            high=ltp.max(Decimal(110)),
            low=ltp.min(Decimal(90)),
            prev_close=Decimal("97.1"),
            prev_oi=3_010_000,
            average_price=Decimal("99.95"),
        )

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        return self.quote(self._universe.index(underlying), at).ltp

    def _record(self, target: str, start: datetime, points: Sequence[tuple[float, Decimal]]) -> None:
        seconds = [s for s, _ in points]
        if any(b <= a for a, b in itertools.pairwise(seconds)):
            raise ValueError("script seconds must strictly increase")
        self.scripts.append((target, start, list(points)))

    def script_underlying(
        self, underlying: Underlying, start: datetime, points: Sequence[tuple[float, Decimal]]
    ) -> None:
        self._record(underlying.value, start, points)

    def script_contract(
        self, security_id: str, start: datetime, points: Sequence[tuple[float, Decimal]]
    ) -> None:
        self._record(security_id, start, points)


class RecordingBroker:
    def __init__(self) -> None:
        self.steps: list[datetime] = []
        self._listeners: list[AlertListener] = []
        self.working_orders = 0
        self.open_positions = 0

    def step(self, now: datetime) -> None:
        self.steps.append(now)

    def add_alert_listener(self, listener: AlertListener) -> None:
        self._listeners.append(listener)

    def emit(self, alert: OrderAlert) -> None:
        for listener in self._listeners:
            listener(alert)

    def snapshot(self) -> dict[str, Any]:
        return {"orders": [], "trades": [], "positions": [], "steps": len(self.steps)}

    def activity(self) -> BrokerActivity:
        return BrokerActivity(self.working_orders, self.open_positions)
