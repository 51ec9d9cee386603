"""Candles cut from a `DaySeries`: intraday bars stamped at their start, and the day's bar.

Bars start at 09:15 and every `interval` minutes after; the last bar of the day also takes the
15:30:00 close, so its close is the day's close (a 25-minute day is 15 bars, an hour day 7, the
last one 15:15–15:30). A bar still forming at `until` is cut at `until` (REFERENCE §7 and
DhanHQ-py issue #80: the current day is sent "till the current time").
Prices leave as Decimal (options on the tick, indices on the paisa): the one float → Decimal step.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from sarathi.common.domain.money import price_from_float
from sarathi.sim.market.model import DaySeries

INTERVALS_MINUTES = (1, 5, 15, 25, 60)


@dataclass(frozen=True, slots=True)
class Candle:
    start_epoch: int  # UTC epoch seconds
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int  # units traded in the bar (the day, for a daily bar)
    oi: int  # open interest at the bar's last second


_OPTION_PRICES: dict[float, Decimal] = {}  # float → its tick price, once (premiums repeat a lot)


def _to_decimal(value: float, index: bool) -> Decimal:
    if index:
        return Decimal(f"{value:.2f}")
    found = _OPTION_PRICES.get(value)
    if found is None:
        found = _OPTION_PRICES[value] = price_from_float(value)
        if len(_OPTION_PRICES) > 1_000_000:
            _OPTION_PRICES.clear()
    return found


class CandleCutter:
    """The bars of `series` whose start is at or before grid second `until_index` (inclusive),
    each made a `Candle` only when asked for (most contracts are read for a few minutes)."""

    def __init__(self, series: DaySeries, interval_minutes: int, until_index: int, index: bool) -> None:
        if interval_minutes not in INTERVALS_MINUTES:
            raise ValueError(f"unsupported interval {interval_minutes}")
        self._series, self._index = series, index
        limit = min(until_index, series.prices.size - 1) + 1  # grid points known so far
        self.starts: list[int] = []
        if limit <= 0:
            return
        step = interval_minutes * 60
        starts = np.arange(0, limit, step)
        if starts[-1] == series.prices.size - 1 and starts.size > 1:
            starts = starts[:-1]  # the 15:30:00 point belongs to the last bar, not a bar of its own
        prices = series.prices[:limit]
        self._highs: list[float] = np.maximum.reduceat(prices, starts).tolist()
        self._lows: list[float] = np.minimum.reduceat(prices, starts).tolist()
        self.starts = starts.tolist()
        self._ends: list[int] = np.append(starts[1:], limit).tolist()  # exclusive
        self._position = {series.open_epoch + start: n for n, start in enumerate(self.starts)}

    def __len__(self) -> int:
        return len(self.starts)

    def candle(self, n: int) -> Candle:
        """The `n`-th bar of the day."""
        series, index = self._series, self._index
        start, end = self.starts[n], self._ends[n]
        traded_before = int(series.volume[start - 1]) if start > 0 else 0
        return Candle(
            start_epoch=series.open_epoch + start,
            open=_to_decimal(float(series.prices[start]), index),
            high=_to_decimal(self._highs[n], index),
            low=_to_decimal(self._lows[n], index),
            close=_to_decimal(float(series.prices[end - 1]), index),
            volume=int(series.volume[end - 1]) - traded_before,
            oi=int(series.oi[end - 1]),
        )

    def starting_at(self, epoch: int) -> Candle:
        """The bar that starts at UTC `epoch` (KeyError when there is none)."""
        return self.candle(self._position[epoch])


def intraday_candles(series: DaySeries, interval_minutes: int, until_index: int, index: bool) -> list[Candle]:
    """Bars of `series` whose start is at or before grid second `until_index` (inclusive)."""
    cutter = CandleCutter(series, interval_minutes, until_index, index)
    return [cutter.candle(n) for n in range(len(cutter))]


def daily_candle(series: DaySeries, day_epoch: int, until_index: int, index: bool) -> Candle:
    """The day's bar up to grid second `until_index`, stamped `day_epoch` (00:00 IST)."""
    limit = min(until_index, series.prices.size - 1) + 1
    prices = series.prices[:limit]
    return Candle(
        start_epoch=day_epoch,
        open=_to_decimal(float(prices[0]), index),
        high=_to_decimal(float(prices.max()), index),
        low=_to_decimal(float(prices.min()), index),
        close=_to_decimal(float(prices[-1]), index),
        volume=int(series.volume[limit - 1]),
        oi=int(series.oi[limit - 1]),
    )
