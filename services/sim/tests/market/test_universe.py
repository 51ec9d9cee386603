from __future__ import annotations

from datetime import date
from decimal import Decimal

from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying
from sarathi.sim.instruments import Universe
from sarathi.sim.universe_builder import UniverseParams, build_universe, option_security_id

from .conftest import TRADING_DAY


def test_security_ids_are_unique_and_the_same_on_every_build(
    universe: Universe, calendar: MarketCalendar
) -> None:
    again = build_universe(TRADING_DAY, calendar)
    assert [i.security_id for i in universe] == [i.security_id for i in again]
    assert len({i.security_id for i in universe}) == len(universe)
    assert all(0 < int(i.security_id) < 2**31 for i in universe)  # fits the feed's int32


def test_a_contract_keeps_its_id_whatever_the_strike_window(
    universe: Universe, calendar: MarketCalendar
) -> None:
    narrow = build_universe(TRADING_DAY, calendar, UniverseParams(strikes_each_side=3))
    wide = {(i.symbol, i.security_id) for i in universe}
    assert {(i.symbol, i.security_id) for i in narrow} <= wide


def test_index_rows_use_dhans_idx_i_ids(universe: Universe) -> None:
    for underlying, security_id in (
        (Underlying.NIFTY, "13"),
        (Underlying.BANKNIFTY, "25"),
        (Underlying.SENSEX, "51"),
    ):
        row = universe.index(underlying)
        assert row.security_id == security_id
        assert row.segment is ExchangeSegment.IDX_I


def test_nifty_lists_weekly_tuesdays_and_41_strikes_each_side(universe: Universe) -> None:
    expiries = universe.expiries(Underlying.NIFTY)
    assert expiries[0] == date(2026, 9, 22)
    assert all(d.weekday() == 1 for d in expiries)
    strikes = {i.strike for i in universe.options(Underlying.NIFTY, expiries[0])}
    assert len(strikes) == 41
    assert min(strikes) == Decimal(23000)
    assert max(strikes) == Decimal(25000)


def test_banknifty_lists_monthlies_only_and_sensex_thursdays(universe: Universe) -> None:
    banknifty = universe.options(Underlying.BANKNIFTY)
    assert banknifty
    assert not any(i.weekly for i in banknifty)
    assert all(d.weekday() == 3 for d in universe.expiries(Underlying.SENSEX))
    assert all(i.segment is ExchangeSegment.BSE_FNO for i in universe.options(Underlying.SENSEX))


def test_a_nifty_call_looks_like_dhans_master_row(universe: Universe) -> None:
    security_id = option_security_id(Underlying.NIFTY, date(2026, 9, 22), Decimal(24000), OptionType.CALL)
    call = universe.get(security_id)
    assert call.symbol == "NIFTY-Sep2026-24000-CE"
    assert call.display_name == "NIFTY 22 SEP 24000 CALL"
    assert (call.lot_size, call.freeze_qty, call.tick_size) == (65, 1756, Decimal("0.05"))
    assert call.segment is ExchangeSegment.NSE_FNO
    assert call.weekly


def test_lot_sizes_and_freeze_quantities_per_underlying(universe: Universe) -> None:
    expected = {Underlying.NIFTY: (65, 1756), Underlying.BANKNIFTY: (30, 600), Underlying.SENSEX: (20, 1000)}
    for underlying, (lot, freeze) in expected.items():
        assert {(i.lot_size, i.freeze_qty) for i in universe.options(underlying)} == {(lot, freeze)}
