"""Technical indicators: pure functions over price series.

Indicators are statistics, not money: they compute in float64 (IEEE double). Bar prices are
`Decimal`; they become floats once, here at the boundary (`float(Decimal)` is correctly rounded),
and no value computed here is ever used as an order price.

Conventions shared by every function:

- Inputs are polars Series, numpy arrays or sequences of numbers, all of one length, all finite.
- The output has the input's length: a polars `Float64` Series, or a DataFrame for indicators with
  several lines. Positions before an indicator is defined (its warm-up) are null.
- No look-ahead: the value at position i is computed from inputs 0..i only (forward recursions and
  running sums), so appending data never changes an earlier value.
- Seeding follows TA-Lib, the reference the tests compare against to 1e-6: EMA starts from the
  simple mean of the first N values; RSI and ATR start from Wilder's simple mean of the first N
  changes / true ranges; ADX seeds its smoothed sums as TA-Lib does (see `adx`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["adx", "atr", "ema", "rsi", "supertrend", "true_range", "vwap"]

Floats = npt.NDArray[np.float64]
SeriesLike = pl.Series | Sequence[float] | Floats
"""A price or volume series: a polars Series, a numpy array or a sequence of numbers."""

_ZERO = 1e-8  # a smoothed range or DI sum below this is "no movement" (TA-Lib's TA_IS_ZERO)


def ema(close: SeriesLike, period: int) -> pl.Series:
    """Exponential moving average, α = 2 / (period + 1).

    EMAₜ = EMAₜ₋₁ + α·(xₜ − EMAₜ₋₁), seeded with the simple mean of the first `period` values,
    so the first value is at index period − 1.
    """
    x = _floats(close, "close")
    _check_period(period, minimum=1)
    out = _undefined(x.size)
    if x.size >= period:
        alpha = 2.0 / (period + 1)
        value = _mean(x[:period])
        out[period - 1] = value
        for i in range(period, x.size):
            value = (x[i] - value) * alpha + value
            out[i] = value
    return _series("ema", out)


def rsi(close: SeriesLike, period: int = 14) -> pl.Series:
    """Relative strength index with Wilder's smoothing, in [0, 100].

    With changes dₜ = xₜ − xₜ₋₁, gains max(dₜ, 0) and losses max(−dₜ, 0): the average gain and loss
    start as the simple means of the first `period` gains and losses (first value at index
    `period`), then avgₜ = (avgₜ₋₁·(period − 1) + valueₜ) / period. RSI = 100·gain / (gain + loss),
    which is 100 − 100 / (1 + RS). With neither gains nor losses (a flat series) RSI is 50, neutral
    (TA-Lib prints 0 there, which would read as oversold; 50 keeps a flat market from confirming a
    downtrend).
    """
    x = _floats(close, "close")
    _check_period(period)
    out = _undefined(x.size)
    if x.size > period:
        change = np.diff(x)
        gains = np.where(change > 0, change, 0.0)
        losses = np.where(change < 0, -change, 0.0)
        gain, loss = _mean(gains[:period]), _mean(losses[:period])
        out[period] = _rsi_value(gain, loss)
        for i in range(period + 1, x.size):
            gain = (gain * (period - 1) + gains[i - 1]) / period
            loss = (loss * (period - 1) + losses[i - 1]) / period
            out[i] = _rsi_value(gain, loss)
    return _series("rsi", out)


def true_range(high: SeriesLike, low: SeriesLike, close: SeriesLike) -> pl.Series:
    """Wilder's true range: max(high − low, |high − previous close|, |low − previous close|).

    Defined from index 1 (the first bar has no previous close).
    """
    return _series("true_range", _true_range(*_ohlc(high, low, close)))


def atr(high: SeriesLike, low: SeriesLike, close: SeriesLike, period: int = 14) -> pl.Series:
    """Average true range with Wilder's smoothing.

    ATR starts as the simple mean of the first `period` true ranges (indices 1..period, so the
    first value is at index `period`), then ATRₜ = (ATRₜ₋₁·(period − 1) + TRₜ) / period.
    """
    _check_period(period, minimum=1)
    return _series("atr", _atr(_true_range(*_ohlc(high, low, close)), period))


def supertrend(
    high: SeriesLike, low: SeriesLike, close: SeriesLike, period: int = 10, multiplier: float = 3.0
) -> pl.DataFrame:
    """Supertrend: columns `supertrend` (the line) and `direction` (+1 up, −1 down).

    Basic bands are hl2 ± multiplier·ATR(period), hl2 = (high + low) / 2. Final bands ratchet:
    the upper band takes the basic upper band if that is lower than the previous final upper band
    or the previous close was above it, else it keeps the previous final upper band; the lower
    band mirrors this. In a downtrend the direction turns up when the close rises above the final
    upper band; in an uptrend it turns down when the close falls below the final lower band. The
    line is the final lower band in an uptrend and the final upper band in a downtrend. As in
    TradingView's `ta.supertrend`, the first bar with an ATR (index `period`) starts with final
    bands equal to the basic bands and direction down.
    """
    if multiplier <= 0:
        raise ValueError(f"multiplier must be positive, got {multiplier}")
    _check_period(period, minimum=1)
    h, lo, c = _ohlc(high, low, close)
    average_range = _atr(_true_range(h, lo, c), period)
    line, direction = _undefined(c.size), _undefined(c.size)
    mid = (h + lo) / 2.0
    upper = lower = 0.0
    for i in range(period, c.size):
        basic_upper = mid[i] + multiplier * average_range[i]
        basic_lower = mid[i] - multiplier * average_range[i]
        if i == period:
            upper, lower, trend = basic_upper, basic_lower, -1.0
        else:
            if basic_upper < upper or c[i - 1] > upper:
                upper = basic_upper
            if basic_lower > lower or c[i - 1] < lower:
                lower = basic_lower
            trend = direction[i - 1]
            if trend < 0 and c[i] > upper:
                trend = 1.0
            elif trend > 0 and c[i] < lower:
                trend = -1.0
        direction[i] = trend
        line[i] = lower if trend > 0 else upper
    return pl.DataFrame([_series("supertrend", line), _series("direction", direction).cast(pl.Int8)])


def adx(high: SeriesLike, low: SeriesLike, close: SeriesLike, period: int = 14) -> pl.DataFrame:
    """Average directional index: columns `adx`, `plus_di`, `minus_di` (Wilder), in [0, 100].

    Moves: up = highₜ − highₜ₋₁, down = lowₜ₋₁ − lowₜ; +DM = up if up > down and up > 0, else 0;
    −DM = down if down > up and down > 0, else 0; TR is the true range. Their Wilder sums S start
    as in TA-Lib: the sum of the first period − 1 values (indices 1..period − 1), then at every
    later index S = S − S/period + value. ±DI = 100·S(±DM) / S(TR) from index `period` (0 without
    movement). DX = 100·|+DI − −DI| / (+DI + −DI), 0 when both are 0. ADX starts as the mean of
    the first `period` DX values (first value at index 2·period − 1), then
    ADXₜ = (ADXₜ₋₁·(period − 1) + DXₜ) / period.
    """
    _check_period(period)
    h, lo, c = _ohlc(high, low, close)
    n = c.size
    plus_di, minus_di, dx, average = _undefined(n), _undefined(n), _undefined(n), _undefined(n)
    if n > period:
        up = np.diff(h, prepend=np.nan)
        down = -np.diff(lo, prepend=np.nan)
        plus_dm = np.where((up > down) & (up > 0), up, 0.0)
        minus_dm = np.where((down > up) & (down > 0), down, 0.0)
        ranges = _true_range(h, lo, c)
        s_tr, s_plus, s_minus = _sum(ranges[1:period]), _sum(plus_dm[1:period]), _sum(minus_dm[1:period])
        for i in range(period, n):
            s_tr = s_tr - s_tr / period + ranges[i]
            s_plus = s_plus - s_plus / period + plus_dm[i]
            s_minus = s_minus - s_minus / period + minus_dm[i]
            moving = s_tr >= _ZERO
            plus_di[i] = 100.0 * (s_plus / s_tr) if moving else 0.0
            minus_di[i] = 100.0 * (s_minus / s_tr) if moving else 0.0
            total = plus_di[i] + minus_di[i]
            dx[i] = 100.0 * (abs(minus_di[i] - plus_di[i]) / total) if total >= _ZERO else 0.0
        first = 2 * period - 1
        if n > first:
            value = _sum(dx[period : first + 1]) / period
            average[first] = value
            for i in range(first + 1, n):
                value = (value * (period - 1) + dx[i]) / period
                average[i] = value
    return pl.DataFrame([_series("adx", average), _series("plus_di", plus_di), _series("minus_di", minus_di)])


def vwap(
    high: SeriesLike,
    low: SeriesLike,
    close: SeriesLike,
    volume: SeriesLike,
    session: pl.Series | Sequence[Hashable] | npt.NDArray[np.generic],
) -> pl.Series:
    """Session-anchored volume-weighted average price of the typical price (high + low + close) / 3.

    VWAPₜ = Σ typicalᵢ·volumeᵢ / Σ volumeᵢ over the bars i ≤ t of t's session; `session` labels
    each bar's session (e.g. its trading date) and the sums restart whenever the label changes.

    Without volume VWAP is undefined and the value is null: while the session's volume so far is
    zero, and always for an index, whose volume on Dhan is 0. Inventing weights would publish a
    time-weighted average under VWAP's name.
    """
    h, lo, c = _ohlc(high, low, close)
    v = _floats(volume, "volume")
    labels: list[object]
    if isinstance(session, pl.Series):
        labels = session.to_list()
    elif isinstance(session, np.ndarray):
        labels = session.tolist()
    else:
        labels = list(session)
    if v.size != c.size or len(labels) != c.size:
        raise ValueError("volume and session must have the length of the prices")
    if np.any(v < 0):
        raise ValueError("volume must not be negative")
    typical = (h + lo + c) / 3.0
    out = _undefined(c.size)
    priced = weight = 0.0
    for i in range(c.size):
        if i == 0 or labels[i] != labels[i - 1]:
            priced = weight = 0.0
        priced += typical[i] * v[i]
        weight += v[i]
        if weight > 0:
            out[i] = priced / weight
    return _series("vwap", out)


# --- helpers ---------------------------------------------------------------------------------


def _floats(values: SeriesLike, name: str) -> Floats:
    array = values.to_numpy() if isinstance(values, pl.Series) else values
    result = np.asarray(array, dtype=np.float64)
    if result.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(result)):
        raise ValueError(f"{name} must be finite (no NaN, null or infinity)")
    return result


def _ohlc(high: SeriesLike, low: SeriesLike, close: SeriesLike) -> tuple[Floats, Floats, Floats]:
    h, lo, c = _floats(high, "high"), _floats(low, "low"), _floats(close, "close")
    if not h.size == lo.size == c.size:
        raise ValueError("high, low and close must have one length")
    return h, lo, c


def _check_period(period: int, minimum: int = 2) -> None:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        raise ValueError(f"period must be an integer ≥ {minimum}, got {period!r}")


def _undefined(size: int) -> Floats:
    return np.full(size, np.nan, dtype=np.float64)


def _sum(values: Floats) -> float:
    """Left-to-right sum (the reference order, so results do not depend on numpy's pairwise sum)."""
    total = 0.0
    for value in values.tolist():
        total += value
    return total


def _mean(values: Floats) -> float:
    return _sum(values) / values.size


def _true_range(h: Floats, lo: Floats, c: Floats) -> Floats:
    out = _undefined(c.size)
    if c.size > 1:
        previous = c[:-1]
        out[1:] = np.maximum(h[1:] - lo[1:], np.maximum(np.abs(h[1:] - previous), np.abs(lo[1:] - previous)))
    return out


def _atr(ranges: Floats, period: int) -> Floats:
    out = _undefined(ranges.size)
    if ranges.size > period:
        value = _mean(ranges[1 : period + 1])
        out[period] = value
        for i in range(period + 1, ranges.size):
            value = (value * (period - 1) + ranges[i]) / period
            out[i] = value
    return out


def _rsi_value(gain: float, loss: float) -> float:
    total = gain + loss
    return 50.0 if total < _ZERO else 100.0 * (gain / total)


def _series(name: str, values: Floats) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)
