from __future__ import annotations

import pytest

from sarathi.common.domain.instruments import Underlying
from sarathi.sim.instruments import Universe
from sarathi.sim.market.bars import daily_candle, intraday_candles
from sarathi.sim.market.model import MarketModel
from sarathi.sim.market.paths import SESSION_SECONDS

from .conftest import TRADING_DAY


@pytest.mark.parametrize(("interval", "count"), [(1, 375), (5, 75), (15, 25), (25, 15), (60, 7)])
def test_a_full_day_has_the_right_number_of_bars(
    model: MarketModel, universe: Universe, interval: int, count: int
) -> None:
    series = model.day_series(universe.index(Underlying.NIFTY), TRADING_DAY)
    candles = intraday_candles(series, interval, SESSION_SECONDS, index=True)
    assert len(candles) == count
    assert candles[0].start_epoch == series.open_epoch
    day = daily_candle(series, 0, SESSION_SECONDS, index=True)
    assert candles[-1].close == day.close
    assert max(c.high for c in candles) == day.high
    assert min(c.low for c in candles) == day.low


def test_option_bar_volumes_add_up_to_the_day(model: MarketModel, universe: Universe) -> None:
    option = universe.options(Underlying.NIFTY)[40]
    series = model.day_series(option, TRADING_DAY)
    candles = intraday_candles(series, 5, SESSION_SECONDS, index=False)
    assert sum(c.volume for c in candles) == daily_candle(series, 0, SESSION_SECONDS, index=False).volume


def test_a_forming_bar_is_cut_at_now(model: MarketModel, universe: Universe) -> None:
    series = model.day_series(universe.index(Underlying.NIFTY), TRADING_DAY)
    candles = intraday_candles(series, 15, 20 * 60 + 30, index=True)  # 09:35:30
    assert len(candles) == 2
    assert float(candles[-1].close) == pytest.approx(float(series.prices[20 * 60 + 30]), abs=0.01)
