"""The trend decision on crafted bars, its settings, the no-look-ahead property, and signal ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import Direction
from sarathi.signals.domain.bars import ClosedBar, SessionGrid
from sarathi.signals.domain.decision import (
    TrendSettings,
    decide,
    decide_each,
)

GRID = SessionGrid(MarketCalendar(), Underlying.NIFTY.spec.exchange)
FIRST_DAY = date(2026, 9, 10)
DEFAULTS = TrendSettings()


def bar_windows(count: int) -> list[tuple[datetime, datetime]]:
    """`count` consecutive 5-minute windows of the session grid from FIRST_DAY, across days."""
    start = datetime(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day, 9, 15, tzinfo=IST)
    ends = GRID.bar_ends(start, start + timedelta(days=30))
    windows = []
    for _ in range(count):
        end = next(ends)
        windows.append((end - GRID.interval, end))
    return windows


def a_bar_series(closes: Sequence[Decimal], wick: Decimal = Decimal(4)) -> list[ClosedBar]:
    """Bars opening at the previous close, with a wick of `wick` points above and below."""
    bars = []
    previous = closes[0]
    for (start, end), close in zip(bar_windows(len(closes)), closes, strict=True):
        high, low = max(previous, close) + wick, min(previous, close) - wick
        bars.append(ClosedBar(Underlying.NIFTY, start, end, previous, high, low, close))
        previous = close
    return bars


def a_trend(step: int, bars: int = 80, noise: float = 20.0, seed: int = 7) -> list[ClosedBar]:
    """A trend of `step` points a bar on average, with seeded Gaussian noise (so, real pullbacks)."""
    levels = 24_000 + np.cumsum(step + np.random.default_rng(seed).normal(0, noise, bars))
    closes = [Decimal(f"{level:.2f}") for level in levels]
    return a_bar_series(closes, wick=Decimal(6))


def a_chop(bars: int = 80, seed: int = 0) -> list[ClosedBar]:
    """Closes scattered independently around one level (seeded Gaussian, 20 points): no trend."""
    levels = 24_000 + np.random.default_rng(seed).normal(0, 20, bars)
    return a_bar_series([Decimal(f"{level:.2f}") for level in levels], wick=Decimal(6))


# --- the decision on crafted bars --------------------------------------------------------------


def test_a_clear_up_trend_is_bullish() -> None:
    decision = decide(a_trend(step=+20), DEFAULTS)

    assert decision.direction is Direction.BULLISH
    assert decision.indicators["supertrend_direction"] == 1
    assert decision.indicators["rsi"] > 55
    assert decision.indicators["adx"] >= 20


def test_a_clear_down_trend_is_bearish() -> None:
    decision = decide(a_trend(step=-20), DEFAULTS)

    assert decision.direction is Direction.BEARISH
    assert decision.indicators["supertrend_direction"] == -1
    assert decision.indicators["rsi"] < 45


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_chop_is_neutral_because_the_trend_is_too_weak(seed: int) -> None:
    decision = decide(a_chop(seed=seed), DEFAULTS)

    assert decision.direction is Direction.NEUTRAL
    assert decision.reason.startswith("trend too weak: ADX")


def test_too_few_bars_for_the_indicators_is_neutral_while_warming_up() -> None:
    bars = a_trend(step=+20, bars=DEFAULTS.warm_up_bars - 1)

    decision = decide(bars, DEFAULTS)

    assert decision.direction is Direction.NEUTRAL
    assert decision.reason == f"warming up: {len(bars)} of {DEFAULTS.warm_up_bars} bars"
    assert decision.indicators == {}


def test_no_bars_at_all_is_neutral_while_warming_up() -> None:
    assert decide([], DEFAULTS).reason.startswith("warming up")


def test_the_first_bar_with_every_indicator_defined_gets_a_real_decision() -> None:
    bars = a_trend(step=+20, bars=DEFAULTS.warm_up_bars)

    assert decide(bars, DEFAULTS).direction is Direction.BULLISH


def test_a_trend_weaker_than_the_adx_threshold_is_neutral() -> None:
    decision = decide(a_trend(step=+20), TrendSettings(adx_min=100))

    assert decision.direction is Direction.NEUTRAL
    assert decision.reason.startswith("trend too weak: ADX")


def test_supertrend_up_without_rsi_confirmation_is_neutral() -> None:
    decision = decide(a_trend(step=+20), TrendSettings(rsi_bullish_above=99.9))

    assert decision.direction is Direction.NEUTRAL
    assert "not confirmed: RSI" in decision.reason


def test_the_decision_reports_the_bar_it_decided_on_and_the_values_behind_it() -> None:
    bars = a_trend(step=+20)

    decision = decide(bars, DEFAULTS)

    assert decision.bar_close == bars[-1].end
    assert decision.close == bars[-1].close
    assert set(decision.indicators) == {
        "supertrend",
        "supertrend_direction",
        "rsi",
        "adx",
        "plus_di",
        "minus_di",
    }
    decimals = decision.indicator_decimals(places=2)
    assert decimals["rsi"] == Decimal(repr(decision.indicators["rsi"])).quantize(Decimal("0.01"))
    assert all(value.as_tuple().exponent == -2 for value in decimals.values())


def test_bars_out_of_order_are_refused() -> None:
    bars = a_trend(step=+20, bars=30)

    with pytest.raises(ValueError, match="out of order"):
        decide([*bars[:10], bars[20], *bars[11:20]], DEFAULTS)


@pytest.mark.parametrize(
    "overrides",
    [
        {"strategy": "has-dash"},
        {"strategy": ""},
        {"rsi_period": 1},
        {"supertrend_multiplier": 0.0},
        {"rsi_bullish_above": 40.0, "rsi_bearish_below": 60.0},
        {"adx_min": 101.0},
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        TrendSettings(**overrides)  # type: ignore[arg-type]


# --- no look-ahead -----------------------------------------------------------------------------

closes_in_paise = st.lists(st.integers(-4_000, 4_000), min_size=1, max_size=70)


def bars_from_moves(moves: list[int]) -> list[ClosedBar]:
    level, closes = 2_400_000, []
    for move in moves:
        level += move
        closes.append(Decimal(level) / 100)
    return a_bar_series(closes, wick=Decimal(abs(moves[0]) % 900) / 100)


SMALL = TrendSettings(supertrend_period=3, rsi_period=3, adx_period=3)


@settings(max_examples=80, deadline=None)
@given(moves=closes_in_paise, later_a=closes_in_paise, later_b=closes_in_paise)
def test_a_decision_uses_only_bars_up_to_its_own(
    moves: list[int], later_a: list[int], later_b: list[int]
) -> None:
    k = len(moves)
    with_a = bars_from_moves(moves + later_a)
    with_b = bars_from_moves(moves + later_b)

    # What happens after bar k never changes the decisions up to bar k...
    assert decide_each(with_a, SMALL)[:k] == decide_each(with_b, SMALL)[:k]
    # ...and the decision as of bar k is the decision on the first k bars alone.
    assert decide_each(with_a, SMALL)[k - 1] == decide(with_a[:k], SMALL)
