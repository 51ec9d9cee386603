"""The trend decision: a pure function of closed bars and settings (ids: `common.domain.signal_ids`).

Default strategy `st_rsi_adx`, decided on the last bar given:
- BULLISH (buy CE) when Supertrend points up, RSI > 55 and ADX ≥ 20;
- BEARISH (buy PE) when Supertrend points down, RSI < 45 and ADX ≥ 20;
- NEUTRAL (do nothing) otherwise, and while the indicators are still warming up.
Every number is a field of `TrendSettings`.

No look-ahead, by construction: `decide` sees only the bars it is given, which must be closed
bars, and every indicator at a bar uses only that bar and earlier ones. `decide_each` gives the
decision as of every bar in one pass (for backtests); its i-th decision equals `decide(bars[:i+1])`.
The Wilder indicators remember their seed, so pass the same history (the builder's, bounded)
wherever the same decision must be reproduced.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from sarathi.common.domain.signal_ids import check_strategy
from sarathi.common.domain.trading import Direction
from sarathi.signals.domain.bars import ClosedBar
from sarathi.signals.domain.indicators import adx, rsi, supertrend

__all__ = ["TrendDecision", "TrendSettings", "decide", "decide_each"]

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TrendSettings:
    """Parameters of the trend decision (defaults from the mission; all are settings)."""

    strategy: str = "st_rsi_adx"
    supertrend_period: int = 10
    supertrend_multiplier: float = 3.0
    rsi_period: int = 14
    rsi_bullish_above: float = 55.0
    rsi_bearish_below: float = 45.0
    adx_period: int = 14
    adx_min: float = 20.0

    def __post_init__(self) -> None:
        check_strategy(self.strategy)
        if self.supertrend_period < 1 or self.rsi_period < 2 or self.adx_period < 2:
            raise ValueError("periods must be at least 1 (Supertrend) and 2 (RSI, ADX)")
        if not self.supertrend_multiplier > 0:
            raise ValueError(f"supertrend_multiplier must be positive, got {self.supertrend_multiplier}")
        if not 0 <= self.rsi_bearish_below <= self.rsi_bullish_above <= 100:
            raise ValueError("need 0 ≤ rsi_bearish_below ≤ rsi_bullish_above ≤ 100")
        if not 0 <= self.adx_min <= 100:
            raise ValueError(f"adx_min must lie in [0, 100], got {self.adx_min}")

    @property
    def warm_up_bars(self) -> int:
        """Bars needed before every indicator of the decision is defined."""
        return max(self.supertrend_period + 1, self.rsi_period + 1, 2 * self.adx_period)


@dataclass(frozen=True, slots=True)
class TrendDecision:
    """The decision on one closed bar: direction, why, and the indicator values behind it."""

    direction: Direction
    reason: str
    bar_close: datetime | None = None  # end of the bar decided on (None without bars)
    close: Decimal | None = None
    indicators: Mapping[str, float] = field(default_factory=lambda: _EMPTY)

    def indicator_decimals(self, places: int = 4) -> dict[str, Decimal]:
        """The indicator values as Decimals rounded to `places` (for the `Signal` message)."""
        quantum = Decimal(1).scaleb(-places)
        return {name: Decimal(repr(value)).quantize(quantum) for name, value in self.indicators.items()}


def decide(bars: Sequence[ClosedBar], settings: TrendSettings | None = None) -> TrendDecision:
    """The trend decision on the last of `bars` (closed bars, oldest first)."""
    settings = settings or TrendSettings()
    if not bars:
        return TrendDecision(Direction.NEUTRAL, warming_up(0, settings))
    lines = _Lines.of(_checked(bars), settings)
    return lines.decision(bars, len(bars) - 1, settings)


def decide_each(bars: Sequence[ClosedBar], settings: TrendSettings | None = None) -> list[TrendDecision]:
    """The decision as of every bar: element i is `decide(bars[: i + 1], settings)`."""
    settings = settings or TrendSettings()
    if not bars:
        return []
    lines = _Lines.of(_checked(bars), settings)
    return [lines.decision(bars, i, settings) for i in range(len(bars))]


# --- internals -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lines:
    """The indicator lines of a bar series (NaN where not yet defined)."""

    supertrend: npt.NDArray[np.float64]
    direction: npt.NDArray[np.float64]
    rsi: npt.NDArray[np.float64]
    adx: npt.NDArray[np.float64]
    plus_di: npt.NDArray[np.float64]
    minus_di: npt.NDArray[np.float64]

    @classmethod
    def of(cls, bars: Sequence[ClosedBar], settings: TrendSettings) -> _Lines:
        high = [float(bar.high) for bar in bars]
        low = [float(bar.low) for bar in bars]
        close = [float(bar.close) for bar in bars]
        trend = supertrend(high, low, close, settings.supertrend_period, settings.supertrend_multiplier)
        strength = adx(high, low, close, settings.adx_period)

        def floats(values: object) -> npt.NDArray[np.float64]:
            return np.asarray(values, dtype=np.float64)

        return cls(
            supertrend=floats(trend["supertrend"].to_numpy()),
            direction=floats(trend["direction"].cast(float).to_numpy()),
            rsi=floats(rsi(close, settings.rsi_period).to_numpy()),
            adx=floats(strength["adx"].to_numpy()),
            plus_di=floats(strength["plus_di"].to_numpy()),
            minus_di=floats(strength["minus_di"].to_numpy()),
        )

    def decision(self, bars: Sequence[ClosedBar], i: int, settings: TrendSettings) -> TrendDecision:
        bar = bars[i]
        values = {
            "supertrend": float(self.supertrend[i]),
            "supertrend_direction": float(self.direction[i]),
            "rsi": float(self.rsi[i]),
            "adx": float(self.adx[i]),
            "plus_di": float(self.plus_di[i]),
            "minus_di": float(self.minus_di[i]),
        }
        if any(math.isnan(value) for value in values.values()):
            return TrendDecision(Direction.NEUTRAL, warming_up(i + 1, settings), bar.end, bar.close)
        direction, reason = _rule(values, settings)
        return TrendDecision(direction, reason, bar.end, bar.close, MappingProxyType(values))


def _rule(values: Mapping[str, float], settings: TrendSettings) -> tuple[Direction, str]:
    up = values["supertrend_direction"] > 0
    rsi_value, adx_value = values["rsi"], values["adx"]
    trend = f"supertrend {'up' if up else 'down'}"
    if adx_value < settings.adx_min:
        return Direction.NEUTRAL, f"trend too weak: ADX {adx_value:.2f} < {settings.adx_min:g} ({trend})"
    strength = f"ADX {adx_value:.2f} ≥ {settings.adx_min:g}"
    if up and rsi_value > settings.rsi_bullish_above:
        return Direction.BULLISH, f"{trend}, RSI {rsi_value:.2f} > {settings.rsi_bullish_above:g}, {strength}"
    if not up and rsi_value < settings.rsi_bearish_below:
        return Direction.BEARISH, f"{trend}, RSI {rsi_value:.2f} < {settings.rsi_bearish_below:g}, {strength}"
    side = f"above {settings.rsi_bullish_above:g}" if up else f"below {settings.rsi_bearish_below:g}"
    return Direction.NEUTRAL, f"{trend} not confirmed: RSI {rsi_value:.2f} not {side}"


def warming_up(have: int, settings: TrendSettings) -> str:
    """What a decision says while the history is too short for its indicators."""
    return f"warming up: {have} of {settings.warm_up_bars} bars"


def _checked(bars: Sequence[ClosedBar]) -> Sequence[ClosedBar]:
    underlying = bars[0].underlying
    for previous, bar in pairwise(bars):
        if bar.underlying is not underlying:
            raise ValueError(f"bars of {bar.underlying} mixed with {underlying}")
        if bar.start < previous.end:
            raise ValueError(f"bars out of order or overlapping: {bar.start} before {previous.end}")
    return bars
