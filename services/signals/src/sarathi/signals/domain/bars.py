"""Bars of an index from its ticks, on market time: 1-minute bars rolled up to 5-minute bars.

Alignment. Bars are aligned to the session open of the underlying's exchange (09:15 IST):
1-minute bars [09:15, 09:16), … are rolled up into 5-minute bars [09:15, 09:20), …, [15:25, 15:30).
Intervals are half-open, so a tick at 09:19:59.9 belongs to the 09:15 bar and one at 15:29:59 to
the last bar. A tick belongs to the bar that contains its *exchange* time. Ticks outside the
session (pre-open, 15:30:00 and later, weekends, holidays) are ignored and counted.

Closing. Usually the next tick closes a bar: `close_through(t)` closes every bar that ends at or
before exchange time `t`, so the first tick at or after a bar's end closes it. Ticks of one index
arrive in exchange-time order, so the bar holds exactly the ticks before its end however late they
arrive, and the same ticks give the same bars. When no tick comes, the caller's clock (market
time: the wall clock in live and paper, the simulation clock in sim) closes the bar once it
reaches the end plus `close_grace`: `close_due(now)`. A quiet market therefore still closes bars.

Empty minutes. A bar is made of ticks; prices are never invented. A minute without a tick adds
nothing to its 5-minute bar, and a 5-minute window without any tick produces no bar at all (it is
counted in `BarStats.empty_windows`). An index ticks every second, so an empty window means the
feed was down, and a flat made-up bar would only drag ATR and ADX towards zero.

Late and out-of-order ticks. A tick whose bar has already closed is dropped and counted
(`TickOutcome.LATE`): a published bar is never reopened. Within a bar that is still open, every tick
updates high and low; the open is the earliest tick and the close the latest, ordered by exchange
time with arrival (`received_at`) breaking ties, so an out-of-order tick moves the close only if it
is newer by exchange time.

Warm-up. `seed` loads completed bars of previous sessions (Dhan's intraday history) so indicators
are valid on the first live bar. The series is consecutive in bar-index space: the last bar of one
session is followed directly by the first bar of the next trading day; no synthetic bars are made
for the night, weekends or holidays.

Money. Prices are `Decimal` in and `Decimal` out; polars holds them as `Decimal` columns.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

import polars as pl

from sarathi.common.domain.calendar import IST, MarketCalendar, require_aware
from sarathi.common.domain.instruments import Exchange, Underlying

__all__ = [
    "BarBuilder",
    "BarStats",
    "ClosedBar",
    "SessionGrid",
    "TickOutcome",
    "bars_frame",
    "roll_up",
]

ONE_MINUTE = timedelta(minutes=1)
_MAX_SCALE = 12  # decimal places kept by the polars Decimal columns


@dataclass(frozen=True, slots=True)
class ClosedBar:
    """A closed OHLC bar of an index, `start` inclusive to `end` exclusive (aware, market time).

    `tick_count` is 0 for bars from history (the source does not say); `volume` is 0 for an index.
    Maps one to one onto the `Bar` bus message.
    """

    underlying: Underlying
    start: datetime
    end: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    tick_count: int = 0
    volume: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start))
        object.__setattr__(self, "end", require_aware(self.end))
        prices = (self.open, self.high, self.low, self.close)
        if not all(isinstance(p, Decimal) and p.is_finite() for p in prices):
            raise TypeError(f"bar prices must be finite Decimals, got {prices}")
        if self.end <= self.start:
            raise ValueError(f"bar end {self.end} is not after its start {self.start}")
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError(f"bar prices violate low ≤ open, close ≤ high: {prices}")
        if self.tick_count < 0 or self.volume < 0:
            raise ValueError("tick_count and volume must not be negative")


class TickOutcome(StrEnum):
    """What `BarBuilder.on_tick` did with a tick."""

    ACCEPTED = "accepted"
    LATE = "late"  # its bar had already closed: dropped, the published bar is not reopened
    OUTSIDE_SESSION = "outside_session"  # pre-open, after the close, or not a trading day
    INVALID_PRICE = "invalid_price"  # zero or negative (Dhan sends 0 for an index before it ticks)


@dataclass(frozen=True, slots=True)
class BarStats:
    """Counters of one `BarBuilder` since it was made (for metrics and logs)."""

    accepted: int = 0
    out_of_order: int = 0  # accepted, but older by exchange time than a tick seen before
    late: int = 0
    outside_session: int = 0
    invalid_price: int = 0
    bars_closed: int = 0
    empty_windows: int = 0  # windows that passed on the clock without a tick (from the first close_due)


@dataclass(frozen=True, slots=True)
class SessionGrid:
    """The bar grid of one exchange: `minutes`-bars from each session's open to its close."""

    calendar: MarketCalendar
    exchange: Exchange
    minutes: int = 5

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError(f"bar length must be at least one minute, got {self.minutes}")

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def bar_start(self, instant: datetime) -> datetime | None:
        """Start of the bar containing `instant`, or None outside the session."""
        local = require_aware(instant)
        if not self.calendar.is_open(local, self.exchange):
            return None
        session_open = self.calendar.session_open(local.date(), self.exchange)
        return session_open + ((local - session_open) // self.interval) * self.interval

    def bar_end(self, start: datetime) -> datetime:
        """End of the bar starting at `start`: one interval later, cut at the session close."""
        close = self.calendar.session_close(start.date(), self.exchange)
        return min(start + self.interval, close)

    def bar_ends(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Ends of the grid's bars with `after < end <= until`, in order."""
        day: date = require_aware(after).date()
        last_day = require_aware(until).date()
        while day <= last_day:
            if self.calendar.is_trading_day(day, self.exchange):
                start = self.calendar.session_open(day, self.exchange)
                close = self.calendar.session_close(day, self.exchange)
                step = self.interval
                if start < after:  # from the bar holding `after`: those before end by `after`
                    start += ((after - start) // step) * step
                while start < close:
                    end = min(start + step, close)
                    if after < end <= until:
                        yield end
                    start = end
            day += timedelta(days=1)


def bars_frame(bars: Sequence[ClosedBar]) -> pl.DataFrame:
    """The bars as a polars frame: `start`, `end` (UTC), Decimal OHLC, `tick_count`, `volume`."""
    prices = [p for b in bars for p in (b.open, b.high, b.low, b.close)]
    scale = max((_scale(p) for p in prices), default=2)
    if scale > _MAX_SCALE:  # never round a price silently
        raise ValueError(f"prices with more than {_MAX_SCALE} decimal places")
    money = pl.Decimal(38, scale)
    return pl.DataFrame(
        {
            "start": [b.start for b in bars],
            "end": [b.end for b in bars],
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "tick_count": [b.tick_count for b in bars],
            "volume": [b.volume for b in bars],
        },
        schema={
            "start": pl.Datetime("us", "UTC"),
            "end": pl.Datetime("us", "UTC"),
            "open": money,
            "high": money,
            "low": money,
            "close": money,
            "tick_count": pl.Int64,
            "volume": pl.Int64,
        },
    )


def roll_up(bars: Sequence[ClosedBar], grid: SessionGrid) -> list[ClosedBar]:
    """Shorter bars (e.g. 1-minute ticks or Dhan's 1-minute history) rolled up onto `grid`.

    Each input bar must lie inside one bar of the grid, and starts must strictly increase. A grid
    bar is made of the input bars it contains: first open, highest high, lowest low, last close,
    summed ticks and volume. Grid bars without any input bar are not made.
    """
    if not bars:
        return []
    underlying = bars[0].underlying
    _require_increasing(bars)
    targets: list[datetime] = []
    for bar in bars:
        if bar.underlying is not underlying:
            raise ValueError(f"cannot roll up {bar.underlying} with {underlying}")
        target = grid.bar_start(bar.start)
        if target is None or bar.end > grid.bar_end(target):
            raise ValueError(f"bar {bar.start}–{bar.end} does not lie inside one {grid.minutes}-minute bar")
        targets.append(target)
    rolled = (
        bars_frame(bars)
        .with_columns(pl.Series("target", targets, dtype=pl.Datetime("us", "UTC")))
        .group_by("target", maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("tick_count").sum(),
            pl.col("volume").sum(),
        )
    )
    result = []
    for row in rolled.iter_rows(named=True):
        start = row["target"].astimezone(IST)
        result.append(
            ClosedBar(
                underlying=underlying,
                start=start,
                end=grid.bar_end(start),
                open=row["open"],
                high=row["high"],
                low=row["low"],
                close=row["close"],
                tick_count=row["tick_count"],
                volume=row["volume"],
            )
        )
    return result


def _require_increasing(bars: Sequence[ClosedBar]) -> None:
    for previous, bar in pairwise(bars):
        if bar.start <= previous.start:
            raise ValueError(f"bar starts must strictly increase: {bar.start} after {previous.start}")


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


_Key = tuple[datetime, datetime]  # (exchange time, received at): the order of ticks


@dataclass(slots=True)
class _MinuteBar:
    """A 1-minute bar being built from ticks."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    open_key: _Key
    close_key: _Key
    ticks: int = 1

    def add(self, price: Decimal, key: _Key) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        if key < self.open_key:
            self.open, self.open_key = price, key
        if key >= self.close_key:
            self.close, self.close_key = price, key
        self.ticks += 1

    def closed(self, underlying: Underlying) -> ClosedBar:
        end = self.start + ONE_MINUTE
        return ClosedBar(underlying, self.start, end, self.open, self.high, self.low, self.close, self.ticks)


class BarBuilder:
    """Builds the closed bars of one underlying from its index ticks (see the module docstring).

    Keeps the most recent `max_history` closed bars (seeded and live) for the indicators.
    """

    def __init__(
        self,
        underlying: Underlying,
        calendar: MarketCalendar,
        *,
        minutes: int = 5,
        close_grace: timedelta = timedelta(0),
        max_history: int = 1000,
    ) -> None:
        if close_grace < timedelta(0):
            raise ValueError("close_grace must not be negative")
        if max_history < 1:
            raise ValueError("max_history must be positive")
        self.underlying = underlying
        self.grid = SessionGrid(calendar, underlying.spec.exchange, minutes)
        self._minute_grid = SessionGrid(calendar, underlying.spec.exchange, 1)
        self._close_grace = close_grace
        self._open: dict[datetime, dict[datetime, _MinuteBar]] = {}  # bar start → minute start → minute
        self._closed_until: datetime | None = None  # every bar ending at or before this is closed
        self._latest_exchange_time: datetime | None = None
        self._history: deque[ClosedBar] = deque(maxlen=max_history)
        self._stats = BarStats()
        self._seeded = False

    @property
    def stats(self) -> BarStats:
        return self._stats

    @property
    def history(self) -> tuple[ClosedBar, ...]:
        """Closed bars, oldest first: seeded history, then live bars."""
        return tuple(self._history)

    def history_until(self, end: datetime) -> tuple[ClosedBar, ...]:
        """Closed bars that ended at or before `end`: what a decision at `end` may see."""
        return tuple(bar for bar in self._history if bar.end <= end)

    def on_tick(self, price: Decimal, exchange_time: datetime, received_at: datetime) -> TickOutcome:
        """Add one index tick; returns what was done with it."""
        if not isinstance(price, Decimal):
            raise TypeError(f"price must be a Decimal, got {type(price).__name__}")
        key = (require_aware(exchange_time), require_aware(received_at))
        if not price.is_finite() or price <= 0:
            return self._count(TickOutcome.INVALID_PRICE)
        bar_start = self.grid.bar_start(key[0])
        minute_start = self._minute_grid.bar_start(key[0])
        if bar_start is None or minute_start is None:
            return self._count(TickOutcome.OUTSIDE_SESSION)
        if self._closed_until is not None and self.grid.bar_end(bar_start) <= self._closed_until:
            return self._count(TickOutcome.LATE)
        if self._latest_exchange_time is not None and key[0] < self._latest_exchange_time:
            self._stats = replace(self._stats, out_of_order=self._stats.out_of_order + 1)
        else:
            self._latest_exchange_time = key[0]
        minutes = self._open.setdefault(bar_start, {})
        minute = minutes.get(minute_start)
        if minute is None:
            minutes[minute_start] = _MinuteBar(minute_start, price, price, price, price, key, key)
        else:
            minute.add(price, key)
        return self._count(TickOutcome.ACCEPTED)

    def close_due(self, now: datetime) -> list[ClosedBar]:
        """Close every bar whose end (plus the grace) is at or before market time `now`, in order."""
        return self.close_through(require_aware(now) - self._close_grace)

    def close_through(self, cutoff: datetime) -> list[ClosedBar]:
        """Close every bar that ends at or before `cutoff` (a tick's exchange time), in order."""
        require_aware(cutoff)
        due = sorted(start for start in self._open if self.grid.bar_end(start) <= cutoff)
        closed = [self._roll(self._open.pop(start)) for start in due]
        empty = 0
        if self._closed_until is not None and cutoff > self._closed_until:
            empty = sum(1 for _ in self.grid.bar_ends(self._closed_until, cutoff)) - len(closed)
        if self._closed_until is None or cutoff > self._closed_until:
            self._closed_until = cutoff
        self._history.extend(closed)
        self._stats = replace(
            self._stats,
            bars_closed=self._stats.bars_closed + len(closed),
            empty_windows=self._stats.empty_windows + max(0, empty),
        )
        return closed

    def seed(self, history_bars: Sequence[ClosedBar]) -> None:
        """Load completed bars of this underlying (oldest first) from history before live bars.

        Each bar must sit on the grid, starts must strictly increase, and the history must end
        before any bar already closed live; a builder is seeded once. Bars still open for a window
        the history covers are discarded: the history is the authority for them. Pass only
        completed bars (Dhan's intraday history includes the forming bar of today: drop it first).
        """
        if self._seeded:
            raise RuntimeError(f"the {self.underlying} builder was already seeded")
        bars = list(history_bars)
        for bar in bars:
            if bar.underlying is not self.underlying:
                raise ValueError(f"history of {bar.underlying} given to the {self.underlying} builder")
            if self.grid.bar_start(bar.start) != bar.start or self.grid.bar_end(bar.start) != bar.end:
                raise ValueError(
                    f"history bar {bar.start}–{bar.end} is off the {self.grid.minutes}-minute grid"
                )
        _require_increasing(bars)
        if bars and self._history and bars[-1].end > self._history[0].start:
            raise ValueError("history must end before the first live bar")
        self._seeded = True
        if not bars:
            return
        last_end = bars[-1].end
        for start in [s for s in self._open if self.grid.bar_end(s) <= last_end]:
            del self._open[start]
        if self._closed_until is None or last_end > self._closed_until:
            self._closed_until = last_end
        live = list(self._history)
        self._history.clear()
        self._history.extend([*bars, *live])

    def _roll(self, minutes: dict[datetime, _MinuteBar]) -> ClosedBar:
        one_minute = [minutes[start].closed(self.underlying) for start in sorted(minutes)]
        (bar,) = roll_up(one_minute, self.grid)
        return bar

    def _count(self, outcome: TickOutcome) -> TickOutcome:
        field = outcome.value
        self._stats = replace(self._stats, **{field: getattr(self._stats, field) + 1})
        return outcome
