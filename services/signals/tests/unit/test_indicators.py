"""Each indicator against an independent reference on the same data, within 1e-6.

References: TA-Lib for EMA, RSI, ATR and ADX (+DI, −DI); bukosabino `ta` for VWAP; a textbook
loop below for Supertrend (TradingView's formulation, over TA-Lib's ATR).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from ta.volume import VolumeWeightedAveragePrice  # type: ignore[import-untyped]

from sarathi.signals.domain import indicators

Floats = npt.NDArray[np.float64]
TOLERANCE = 1e-6


class Ohlc:
    """A bar series for the tests: float arrays of high, low, close, volume and session labels."""

    def __init__(self, high: Floats, low: Floats, close: Floats, volume: Floats | None = None) -> None:
        self.high, self.low, self.close = high, low, close
        self.volume = volume if volume is not None else np.zeros(close.size)
        self.session = np.arange(close.size) // 75  # 75 five-minute bars a session


def a_random_walk(seed: int, bars: int = 400) -> Ohlc:
    rng = np.random.default_rng(seed)
    close = 24_000 + np.cumsum(rng.normal(0, 12, bars))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + rng.uniform(0, 10, bars)
    low = np.minimum(open_, close) - rng.uniform(0, 10, bars)
    return Ohlc(high, low, close, rng.integers(1_000, 50_000, bars).astype(np.float64))


def a_flat_market(bars: int = 120) -> Ohlc:
    flat = np.full(bars, 24_000.0)
    return Ohlc(flat, flat.copy(), flat.copy(), np.full(bars, 100.0))


def a_single_huge_move(bars: int = 200) -> Ohlc:
    walk = a_random_walk(11, bars)
    jump = np.where(np.arange(bars) >= bars // 2, 1_500.0, 0.0)  # one bar gaps up 1,500 points
    return Ohlc(walk.high + jump, walk.low + jump, walk.close + jump, walk.volume)


DATASETS: dict[str, Callable[[], Ohlc]] = {
    "random-walk-1": lambda: a_random_walk(1),
    "random-walk-2": lambda: a_random_walk(2),
    "random-walk-3": lambda: a_random_walk(3),
    "flat": a_flat_market,
    "single-huge-move": a_single_huge_move,
    "shorter-than-the-period": lambda: a_random_walk(4, bars=9),
}


@pytest.fixture(params=list(DATASETS), name="data")
def _data(request: pytest.FixtureRequest) -> Ohlc:
    return DATASETS[request.param]()


def assert_matches(ours: pl.Series, reference: Floats) -> None:
    values = ours.cast(pl.Float64).to_numpy()
    assert ours.len() == reference.size
    np.testing.assert_array_equal(np.isnan(values), np.isnan(reference), err_msg="warm-up positions differ")
    np.testing.assert_allclose(values, reference, rtol=0, atol=TOLERANCE, equal_nan=True)


# --- against the references --------------------------------------------------------------------


@pytest.mark.parametrize("period", [5, 20])
def test_ema_matches_ta_lib(data: Ohlc, period: int) -> None:
    assert_matches(indicators.ema(data.close, period), talib.EMA(data.close, period))


@pytest.mark.parametrize("period", [7, 14])
def test_rsi_matches_ta_lib_wilder(data: Ohlc, period: int) -> None:
    reference = talib.RSI(data.close, period)
    if np.ptp(data.close) == 0:  # flat: TA-Lib prints 0, we define a flat market as neutral
        reference = np.where(np.isnan(reference), np.nan, 50.0)
    assert_matches(indicators.rsi(data.close, period), reference)


@pytest.mark.parametrize("period", [1, 14])
def test_atr_matches_ta_lib_wilder(data: Ohlc, period: int) -> None:
    assert_matches(
        indicators.atr(data.high, data.low, data.close, period),
        talib.ATR(data.high, data.low, data.close, period),
    )


@pytest.mark.parametrize("period", [5, 14])
def test_adx_and_the_directional_indicators_match_ta_lib(data: Ohlc, period: int) -> None:
    ours = indicators.adx(data.high, data.low, data.close, period)

    assert_matches(ours["adx"], talib.ADX(data.high, data.low, data.close, period))
    assert_matches(ours["plus_di"], talib.PLUS_DI(data.high, data.low, data.close, period))
    assert_matches(ours["minus_di"], talib.MINUS_DI(data.high, data.low, data.close, period))


def textbook_supertrend(data: Ohlc, period: int, multiplier: float) -> tuple[Floats, Floats]:
    """Supertrend as TradingView's `ta.supertrend` states it, one bar at a time, on TA-Lib's ATR."""
    atr = talib.ATR(data.high, data.low, data.close, period)
    n = data.close.size
    line, direction = np.full(n, np.nan), np.full(n, np.nan)
    final_upper, final_lower = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        if math.isnan(atr[i]):
            continue
        hl2 = (data.high[i] + data.low[i]) / 2
        basic_upper = hl2 + multiplier * atr[i]
        basic_lower = hl2 - multiplier * atr[i]
        first = i == 0 or math.isnan(atr[i - 1])
        if first:
            final_upper[i], final_lower[i] = basic_upper, basic_lower
            direction[i] = -1
        else:
            previous_close = data.close[i - 1]
            keep_upper = basic_upper >= final_upper[i - 1] and previous_close <= final_upper[i - 1]
            keep_lower = basic_lower <= final_lower[i - 1] and previous_close >= final_lower[i - 1]
            final_upper[i] = final_upper[i - 1] if keep_upper else basic_upper
            final_lower[i] = final_lower[i - 1] if keep_lower else basic_lower
            was_down = line[i - 1] == final_upper[i - 1]
            if was_down:
                direction[i] = 1 if data.close[i] > final_upper[i] else -1
            else:
                direction[i] = -1 if data.close[i] < final_lower[i] else 1
        line[i] = final_lower[i] if direction[i] == 1 else final_upper[i]
    return line, direction


@pytest.mark.parametrize(("period", "multiplier"), [(10, 3.0), (7, 2.0)])
def test_supertrend_matches_the_textbook_loop(data: Ohlc, period: int, multiplier: float) -> None:
    line, direction = textbook_supertrend(data, period, multiplier)

    ours = indicators.supertrend(data.high, data.low, data.close, period, multiplier)

    assert_matches(ours["supertrend"], line)
    assert_matches(ours["direction"], direction)


def test_supertrend_turns_up_after_the_single_huge_move() -> None:
    data = a_single_huge_move()

    direction = indicators.supertrend(data.high, data.low, data.close)["direction"]

    assert direction[data.close.size // 2] == 1


def reference_session_vwap(data: Ohlc) -> Floats:
    frame = pd.DataFrame(
        {
            "high": data.high,
            "low": data.low,
            "close": data.close,
            "volume": data.volume,
            "session": data.session,
        }
    )
    parts = []
    for _, session in frame.groupby("session", sort=False):
        # A window as long as the session and min_periods=0 (fillna=True) make the rolling sums
        # cumulative from the session's first bar; `.vwap` is the value before any filling.
        parts.append(
            VolumeWeightedAveragePrice(
                session["high"],
                session["low"],
                session["close"],
                session["volume"],
                window=len(session),
                fillna=True,
            ).vwap
        )
    values: Floats = pd.concat(parts).to_numpy(dtype=np.float64)
    return values


def test_session_vwap_matches_ta_and_restarts_each_session(data: Ohlc) -> None:
    ours = indicators.vwap(data.high, data.low, data.close, data.volume, data.session)

    assert_matches(ours, reference_session_vwap(data))
    if data.close.size > 75:  # the first bar of a session is its own typical price
        typical = (data.high[75] + data.low[75] + data.close[75]) / 3
        assert ours[75] == pytest.approx(typical, abs=TOLERANCE)


def test_vwap_of_an_index_without_volume_is_null() -> None:
    data = a_random_walk(5, bars=150)

    ours = indicators.vwap(data.high, data.low, data.close, np.zeros(150), data.session)

    assert ours.null_count() == 150


def test_vwap_is_null_until_the_first_traded_volume_of_the_session() -> None:
    data = a_random_walk(6, bars=5)
    volume = np.array([0.0, 0.0, 10.0, 0.0, 5.0])

    ours = indicators.vwap(data.high, data.low, data.close, volume, ["d1"] * 5)

    assert ours.is_null().to_list() == [True, True, False, False, False]


# --- warm-up and input checks ------------------------------------------------------------------


def test_warm_up_positions_are_null_and_the_first_values_sit_where_the_definitions_say() -> None:
    data = a_random_walk(7, bars=60)

    def first_defined(series: pl.Series) -> int:
        return int(series.is_not_null().arg_max() or 0)

    assert first_defined(indicators.ema(data.close, 20)) == 19
    assert first_defined(indicators.rsi(data.close, 14)) == 14
    assert first_defined(indicators.atr(data.high, data.low, data.close, 14)) == 14
    assert first_defined(indicators.supertrend(data.high, data.low, data.close, 10)["supertrend"]) == 10
    assert first_defined(indicators.adx(data.high, data.low, data.close, 14)["adx"]) == 27


def test_indicators_accept_polars_series_and_sequences_alike() -> None:
    data = a_random_walk(8, bars=50)

    from_series = indicators.rsi(pl.Series(data.close))
    from_list = indicators.rsi(data.close.tolist())

    assert from_series.equals(from_list)


@pytest.mark.parametrize(
    "bad_close",
    [pytest.param([1.0, math.nan, 2.0], id="nan"), pytest.param(pl.Series([1.0, None, 2.0]), id="null")],
)
def test_non_finite_inputs_are_refused(bad_close: object) -> None:
    with pytest.raises(ValueError, match="finite"):
        indicators.ema(bad_close, 2)  # type: ignore[arg-type]


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        indicators.atr([1.0, 2.0], [1.0], [1.0, 2.0])


@pytest.mark.parametrize("period", [0, -3, True])
def test_a_period_that_is_not_a_positive_integer_is_refused(period: int) -> None:
    with pytest.raises(ValueError, match="period"):
        indicators.rsi([1.0, 2.0, 3.0], period)


# --- no look-ahead -----------------------------------------------------------------------------

LINES: dict[str, Callable[[Ohlc], pl.DataFrame]] = {
    "ema": lambda d: indicators.ema(d.close, 5).to_frame(),
    "rsi": lambda d: indicators.rsi(d.close, 5).to_frame(),
    "atr": lambda d: indicators.atr(d.high, d.low, d.close, 5).to_frame(),
    "supertrend": lambda d: indicators.supertrend(d.high, d.low, d.close, 5, 2.0),
    "adx": lambda d: indicators.adx(d.high, d.low, d.close, 4),
    "vwap": lambda d: indicators.vwap(d.high, d.low, d.close, d.volume, d.session).to_frame(),
}

moves = st.lists(st.integers(-2_000, 2_000), min_size=2, max_size=120)


def ohlc_from_moves(move_cents: list[int], volume_seed: int) -> Ohlc:
    """Bar i is a function of the moves up to i only, so the data itself never looks ahead."""
    cents = np.array(move_cents, dtype=np.float64)
    close = 24_000 + np.cumsum(cents) / 100
    up, down = (np.abs(cents) % 700) / 100, (np.abs(cents * 7) % 500) / 100
    volume = (np.abs(cents) + volume_seed) % 3  # zero-volume bars included
    data = Ohlc(close + up, close - down, close, volume)
    data.session = np.arange(close.size) // 17
    return data


@pytest.mark.parametrize("name", list(LINES))
@settings(max_examples=60, deadline=None)
@given(prefix=moves, suffix_a=moves, suffix_b=moves, volume_seed=st.integers(0, 1_000))
def test_an_indicator_value_depends_only_on_bars_up_to_its_own(
    name: str, prefix: list[int], suffix_a: list[int], suffix_b: list[int], volume_seed: int
) -> None:
    k = len(prefix)
    on_prefix = LINES[name](ohlc_from_moves(prefix, volume_seed))
    with_a = LINES[name](ohlc_from_moves(prefix + suffix_a, volume_seed))
    with_b = LINES[name](ohlc_from_moves(prefix + suffix_b, volume_seed))

    # Identical inputs up to k give bit-identical values up to k, whatever follows.
    assert with_a.head(k).equals(on_prefix)
    assert with_b.head(k).equals(on_prefix)
