"""The index tape: per-second levels of each underlying on any trading day, scripts applied.

Days chain through their closes: the previous close of the anchor day (the universe's trading
day) is the reference level, later days walk forward (close = previous close · e^{gap + move}),
earlier days walk backward. So the anchor day opens near the reference level the strikes are
centred on, and every day's value is still a pure function of (seed, scripts, instant).

Instants map onto the grid by `locate`: during the session, the last whole second since 09:15;
after 15:30 the close; before the open or on a holiday, the close of the last session.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

import numpy as np

from sarathi.common.domain.calendar import IST, MarketCalendar, require_aware
from sarathi.common.domain.instruments import Exchange, Underlying
from sarathi.sim.market.paths import (
    GRID_POINTS,
    SESSION_SECONDS,
    DayPath,
    FloatArray,
    PathParams,
    generate_day_path,
)
from sarathi.sim.market.scenario import Scenario

K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map; values are computed outside the lock (pure, so a race only
    duplicates work)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


def locate(calendar: MarketCalendar, exchange: Exchange, at: datetime) -> tuple[date, int]:
    """The session day and grid second whose values are current at `at`."""
    local = require_aware(at)
    day = local.date()
    if calendar.is_trading_day(day, exchange):
        elapsed = (local - calendar.session_open(day, exchange)).total_seconds()
        if elapsed >= 0:
            return day, min(SESSION_SECONDS, int(elapsed))
    return calendar.previous_trading_day(day, exchange), SESSION_SECONDS


def grid_epochs(calendar: MarketCalendar, day: date, exchange: Exchange) -> FloatArray:
    """UTC epoch seconds of each grid point of `day`."""
    start = calendar.session_open(day, exchange).timestamp()
    result: FloatArray = start + np.arange(GRID_POINTS, dtype=np.float64)
    return result


class IndexTape:
    def __init__(
        self,
        calendar: MarketCalendar,
        *,
        seed: int,
        anchor_day: date,
        reference_levels: Mapping[Underlying, Decimal],
        scenario: Scenario,
        path_params: PathParams,
    ) -> None:
        self.calendar = calendar
        self.seed = seed
        self._anchor_day = anchor_day
        self._reference = {u: math.log(float(level)) for u, level in reference_levels.items()}
        self._scenario = scenario
        self._params = path_params
        self._paths: LruCache[tuple[Underlying, date], DayPath] = LruCache(64)
        self._series: LruCache[tuple[Underlying, date, int], FloatArray] = LruCache(64)
        self._log_close: dict[tuple[Underlying, date], float] = {}
        self._chain_lock = threading.Lock()

    @staticmethod
    def exchange(underlying: Underlying) -> Exchange:
        return underlying.spec.exchange

    def day_path(self, underlying: Underlying, day: date) -> DayPath:
        return self._paths.get(
            (underlying, day), lambda: generate_day_path(self.seed, underlying, day, self._params)
        )

    def previous_close_log(self, underlying: Underlying, day: date) -> float:
        """log of the (unscripted) close of the trading day before `day`."""
        exchange = self.exchange(underlying)
        return self._close_log(underlying, self.calendar.previous_trading_day(day, exchange))

    def _close_log(self, underlying: Underlying, day: date) -> float:
        with self._chain_lock:
            exchange = self.exchange(underlying)
            anchor = self._anchor_day
            if not self.calendar.is_trading_day(anchor, exchange):
                anchor = self.calendar.next_trading_day(anchor, exchange)
            base = self.calendar.previous_trading_day(anchor, exchange)
            memo = self._log_close
            memo.setdefault((underlying, base), self._reference[underlying])
            cursor = base
            while cursor < day:  # walk forward
                following = self.calendar.next_trading_day(cursor, exchange)
                if (underlying, following) not in memo:
                    step = self.day_path(underlying, following).total_log_return
                    memo[(underlying, following)] = memo[(underlying, cursor)] + step
                cursor = following
            while cursor > day:  # walk backward
                before = self.calendar.previous_trading_day(cursor, exchange)
                if (underlying, before) not in memo:
                    step = self.day_path(underlying, cursor).total_log_return
                    memo[(underlying, before)] = memo[(underlying, cursor)] - step
                cursor = before
            return memo[(underlying, day)]

    def raw_series(self, underlying: Underlying, day: date) -> FloatArray:
        """Unscripted levels of `day` (a trading day) on the 1-second grid."""
        path = self.day_path(underlying, day)
        log_open = self.previous_close_log(underlying, day) + path.gap
        result: FloatArray = np.exp(log_open + path.moves)
        return result

    def series(self, underlying: Underlying, day: date) -> FloatArray:
        """Levels of `day` on the grid with any script applied (cached per scenario version)."""
        key = (underlying, day, self._scenario.version)
        return self._series.get(key, lambda: self._scripted(underlying, day))

    def _scripted(self, underlying: Underlying, day: date) -> FloatArray:
        raw = self.raw_series(underlying, day)
        script = self._scenario.for_underlying(underlying)
        if script is None:
            return raw
        epochs = grid_epochs(self.calendar, day, self.exchange(underlying))
        start_value = None
        if script.needs_start_value:
            start = datetime.fromtimestamp(script.start_epoch, tz=IST)
            start_day, index = locate(self.calendar, self.exchange(underlying), start)
            start_value = float(self.raw_series(underlying, start_day)[index])
        return script.overlay(epochs, raw, start_value)

    def level(self, underlying: Underlying, at: datetime) -> float:
        day, index = locate(self.calendar, self.exchange(underlying), at)
        return float(self.series(underlying, day)[index])
