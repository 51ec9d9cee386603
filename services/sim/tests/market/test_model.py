from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.common.domain.money import OPTION_TICK, is_on_tick
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.model import MarketModel
from sarathi.sim.market.paths import PathParams, RegimeKind, generate_day_path
from sarathi.sim.universe_builder import option_security_id

from .conftest import TRADING_DAY, at

NIFTY_WEEKLY = date(2026, 9, 22)


def a_nifty(universe: Universe, strike: int, side: OptionType = OptionType.CALL) -> SimInstrument:
    return universe.get(option_security_id(Underlying.NIFTY, NIFTY_WEEKLY, Decimal(strike), side))


def test_same_seed_and_instant_give_the_same_quote(universe: Universe, calendar: MarketCalendar) -> None:
    first = MarketModel(universe, calendar, seed=7, anchor_day=TRADING_DAY)
    second = MarketModel(universe, calendar, seed=7, anchor_day=TRADING_DAY)
    call = a_nifty(universe, 24000)
    assert first.quote(call, at(11, 30, 17)) == second.quote(call, at(11, 30, 17))
    assert first.index_level(Underlying.SENSEX, at(14, 1)) == second.index_level(Underlying.SENSEX, at(14, 1))


def test_a_different_seed_gives_a_different_path(universe: Universe, calendar: MarketCalendar) -> None:
    first = MarketModel(universe, calendar, seed=7, anchor_day=TRADING_DAY)
    second = MarketModel(universe, calendar, seed=8, anchor_day=TRADING_DAY)
    levels = [(first.index_level(Underlying.NIFTY, at(h, 0)), second.index_level(Underlying.NIFTY, at(h, 0)))
              for h in (10, 12, 14)]  # fmt: skip
    assert any(a != b for a, b in levels)


def test_the_anchor_day_opens_near_the_reference_level(model: MarketModel) -> None:
    level = model.index_level(Underlying.NIFTY, at(9, 15))
    assert abs(level - 24000) < 24000 * Decimal("0.02")


def test_every_premium_is_on_the_tick_and_at_least_five_paise(model: MarketModel, universe: Universe) -> None:
    for instrument in universe.options(Underlying.NIFTY, NIFTY_WEEKLY):
        quote = model.quote(instrument, at(13, 7, 41))
        for price in (quote.ltp, quote.bid, quote.ask, quote.open, quote.high, quote.low, quote.prev_close):
            assert is_on_tick(price, OPTION_TICK)
            assert price >= OPTION_TICK
        assert quote.bid <= quote.ltp <= quote.ask
        assert quote.low <= quote.ltp <= quote.high


def test_the_call_rises_and_the_put_falls_when_the_index_rises(
    model: MarketModel, universe: Universe
) -> None:
    start = at(10, 0)
    model.script_underlying(Underlying.NIFTY, start, [(0, Decimal(24000)), (600, Decimal(24200))])
    call, put = a_nifty(universe, 24000), a_nifty(universe, 24000, OptionType.PUT)
    before, after = start + timedelta(seconds=1), start + timedelta(seconds=600)
    assert model.quote(call, after).ltp > model.quote(call, before).ltp
    assert model.quote(put, after).ltp < model.quote(put, before).ltp


def test_the_scripted_index_is_reached_on_time_and_the_atm_call_follows(
    model: MarketModel, universe: Universe
) -> None:
    start = at(11, 0)
    model.script_underlying(Underlying.NIFTY, start, [(300, Decimal(24100)), (900, Decimal(23900))])
    assert model.index_level(Underlying.NIFTY, start + timedelta(seconds=300)) == Decimal("24100.00")
    assert model.index_level(Underlying.NIFTY, start + timedelta(seconds=600)) == Decimal("24000.00")
    assert model.index_level(Underlying.NIFTY, start + timedelta(seconds=900)) == Decimal("23900.00")
    assert model.index_level(Underlying.NIFTY, start + timedelta(seconds=5000)) == Decimal(
        "23900.00"
    )  # holds
    call = a_nifty(universe, 24000)
    high = model.quote(call, start + timedelta(seconds=300))
    low = model.quote(call, start + timedelta(seconds=900))
    assert high.ltp - low.ltp > Decimal(80)  # delta ~0.5 on a 200-point fall


def test_a_scripted_contract_shows_its_premiums_and_holds(model: MarketModel, universe: Universe) -> None:
    call = a_nifty(universe, 24500)
    start = at(12, 0)
    model.script_contract(call.security_id, start, [(0, Decimal("40.00")), (60, Decimal("55.50"))])
    assert model.quote(call, start).ltp == Decimal("40.00")
    assert model.quote(call, start + timedelta(seconds=30)).ltp == Decimal("47.75")
    assert model.quote(call, start + timedelta(seconds=60)).ltp == Decimal("55.50")
    assert model.quote(call, at(15, 0)).ltp == Decimal("55.50")
    model.clear_scripts()
    assert model.quote(call, at(15, 0)).ltp != Decimal("55.50")


def test_time_decays_an_atm_call_when_the_index_stands_still(model: MarketModel, universe: Universe) -> None:
    model.script_underlying(Underlying.NIFTY, at(9, 15), [(0, Decimal(24000))])
    call = a_nifty(universe, 24000)
    morning, afternoon = model.quote(call, at(9, 30)), model.quote(call, at(15, 0))
    assert afternoon.ltp < morning.ltp
    tomorrow = model.quote(call, at(15, 0, day=date(2026, 9, 18)))
    assert tomorrow.ltp < afternoon.ltp
    assert morning.greeks is not None
    assert morning.greeks.theta < 0


def test_expiry_leaves_only_the_intrinsic_value(model: MarketModel, universe: Universe) -> None:
    model.script_underlying(Underlying.NIFTY, at(9, 15), [(0, Decimal(24120))])
    itm, otm = a_nifty(universe, 24000), a_nifty(universe, 24500)
    close = at(15, 30, day=NIFTY_WEEKLY)
    assert model.quote(itm, close).ltp == Decimal("120.00")
    assert model.quote(otm, close).ltp == Decimal("0.05")
    assert model.quote(itm, close).greeks == model.quote(otm, close).greeks  # all zero once expired


def test_the_smile_makes_otm_puts_richer_than_the_atm(model: MarketModel, universe: Universe) -> None:
    model.script_underlying(Underlying.NIFTY, at(9, 15), [(0, Decimal(24000))])
    ivs = {k: model.quote(a_nifty(universe, k, OptionType.PUT), at(11, 0)).iv for k in (23200, 24000, 24800)}
    assert None not in ivs.values()
    low, atm, high = (ivs[k] or Decimal(0) for k in (23200, 24000, 24800))
    assert low > atm
    assert high > atm * Decimal("0.9")


def test_near_money_books_are_tighter_and_deeper_than_far_ones(
    model: MarketModel, universe: Universe
) -> None:
    model.script_underlying(Underlying.NIFTY, at(9, 15), [(0, Decimal(24000))])
    near, far = (
        model.quote(a_nifty(universe, 24000), at(11, 0)),
        model.quote(a_nifty(universe, 25000), at(11, 0)),
    )
    assert near.ask - near.bid <= far.ask - far.bid
    assert near.volume > far.volume
    assert len(near.bid_depth) == len(near.ask_depth) == 5


def test_volume_grows_through_the_day(model: MarketModel, universe: Universe) -> None:
    call = a_nifty(universe, 24000)
    volumes = [model.quote(call, at(h, 0)).volume for h in (10, 12, 14)] + [
        model.quote(call, at(15, 30)).volume
    ]
    assert volumes == sorted(volumes)
    assert volumes[0] > 0
    assert all(v % call.lot_size == 0 for v in volumes)


def test_before_the_open_the_quote_is_the_last_close(model: MarketModel, universe: Universe) -> None:
    index = universe.index(Underlying.NIFTY)
    early = model.quote(index, at(8, 0))
    last_close = model.quote(index, at(15, 30, day=date(2026, 9, 15)))
    assert early.ltp == last_close.ltp
    assert model.quote(index, at(9, 15)).prev_close == last_close.ltp


def test_intraday_volatility_is_in_the_realistic_band() -> None:
    params = PathParams()
    vols, kinds = [], set()
    for offset in range(10):
        path = generate_day_path(3, Underlying.NIFTY, date(2026, 3, 2) + timedelta(days=offset), params)
        minute_returns = np.diff(path.moves[::60])
        vols.append(float(np.std(minute_returns)) * math.sqrt(375 * 252))
        kinds |= {r.kind for r in path.regimes}
        assert 0.11 <= path.sigma_annual <= 0.16
    assert 0.07 < float(np.mean(vols)) < 0.2
    assert kinds == {RegimeKind.TRENDING, RegimeKind.MEAN_REVERTING}


def test_days_chain_through_their_closes(model: MarketModel, universe: Universe) -> None:
    index = universe.index(Underlying.BANKNIFTY)
    for day in (date(2026, 9, 10), date(2026, 9, 17)):
        quote = model.quote(index, at(10, 0, day=day))
        previous = model.calendar.previous_trading_day(day)
        assert quote.prev_close == model.quote(index, at(15, 30, day=previous)).ltp


@pytest.mark.parametrize("points", [[], [(-1, Decimal(10))], [(5, Decimal(10)), (5, Decimal(11))]])
def test_bad_script_points_are_refused(model: MarketModel, points: list[tuple[int, Decimal]]) -> None:
    with pytest.raises(ValueError, match="script"):
        model.script_underlying(Underlying.NIFTY, at(10, 0), points)
