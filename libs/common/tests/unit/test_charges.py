from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.charges import (
    APR_2026_RATES,
    DHAN_OPTION_RATES,
    ChargeBreakdown,
    ChargeRatesUnavailableError,
    ChargesCalculator,
    RoundTrip,
)
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.trading import Side

CALCULATOR = ChargesCalculator()
AFTER_BUDGET_2026 = date(2026, 9, 15)
BEFORE_BUDGET_2026 = date(2026, 3, 30)
NIFTY_LOT = 65
SENSEX_LOT = 20


def a_nifty_round_trip(
    trade_date: date, buy: str = "100", sell: str = "120", lots: int = 1, sell_date: date | None = None
) -> RoundTrip:
    return CALCULATOR.round_trip(
        Decimal(buy), Decimal(sell), lots * NIFTY_LOT, Exchange.NSE, trade_date, sell_date=sell_date
    )


def breakdown(**components: str) -> ChargeBreakdown:
    return ChargeBreakdown(**{name: Decimal(value) for name, value in components.items()})


# -- REFERENCE §10.6 worked example: 1 NIFTY lot bought at ₹100, sold at ₹120, NSE --------------


def test_worked_example_after_1_april_2026_costs_65_11_in_charges() -> None:
    trip = a_nifty_round_trip(AFTER_BUDGET_2026)

    assert trip.charges == breakdown(
        brokerage="40.00",
        stt="11.70",
        exchange_txn="5.01",
        ipft="0.07",
        sebi_fee="0.01",
        stamp_duty="0.20",
        gst="8.12",
    )
    assert trip.charges.total == Decimal("65.11")
    assert trip.gross_pnl == Decimal(1300)
    assert trip.net_pnl == Decimal("1234.89")


def test_worked_example_from_october_2024_to_march_2026_costs_61_21_in_charges() -> None:
    trip = a_nifty_round_trip(BEFORE_BUDGET_2026)

    assert trip.charges == breakdown(
        brokerage="40.00",
        stt="7.80",
        exchange_txn="5.01",
        ipft="0.07",
        sebi_fee="0.01",
        stamp_duty="0.20",
        gst="8.12",
    )
    assert trip.charges.total == Decimal("61.21")
    assert trip.net_pnl == Decimal("1238.79")


def test_the_higher_stt_applies_from_1_april_2026_exactly() -> None:
    assert a_nifty_round_trip(date(2026, 3, 31)).charges.stt == Decimal("7.80")
    assert a_nifty_round_trip(date(2026, 4, 1)).charges.stt == Decimal("11.70")


# -- sides, orders, exchanges -------------------------------------------------------------------


def test_a_buy_order_pays_stamp_duty_and_no_stt() -> None:
    charges = CALCULATOR.order_charges(Side.BUY, Decimal(6500), Exchange.NSE, AFTER_BUDGET_2026)
    assert charges.stt == 0
    assert charges.stamp_duty == Decimal("0.20")
    assert charges.brokerage == Decimal(20)


def test_a_sell_order_pays_stt_and_no_stamp_duty() -> None:
    charges = CALCULATOR.order_charges(Side.SELL, Decimal(7800), Exchange.NSE, AFTER_BUDGET_2026)
    assert charges.stt == Decimal("11.70")
    assert charges.stamp_duty == 0


def test_an_order_filled_in_parts_pays_brokerage_once_but_two_orders_pay_twice() -> None:
    one_order = CALCULATOR.order_charges(Side.BUY, Decimal(13000), Exchange.NSE, AFTER_BUDGET_2026)
    two_orders = CALCULATOR.contract_note(
        [(Side.BUY, Decimal(6500)), (Side.BUY, Decimal(6500))], Exchange.NSE, AFTER_BUDGET_2026
    )
    assert one_order.brokerage == Decimal(20)
    assert two_orders.brokerage == Decimal(40)


def test_a_sensex_round_trip_on_bse_pays_bse_exchange_charges_and_no_ipft() -> None:
    trip = CALCULATOR.round_trip(Decimal(200), Decimal(250), SENSEX_LOT, Exchange.BSE, date(2026, 9, 17))

    assert trip.charges == breakdown(
        brokerage="40.00",
        stt="7.50",  # 0.15 % of 5 000
        exchange_txn="2.92",  # 0.0325 % of 9 000 = 2.925, half-even
        ipft="0.00",
        sebi_fee="0.01",
        stamp_duty="0.12",  # 0.003 % of 4 000
        gst="7.73",  # 18 % of 42.93
    )
    assert trip.net_pnl == Decimal("941.72")


def test_a_losing_trade_loses_its_charges_on_top() -> None:
    trip = a_nifty_round_trip(AFTER_BUDGET_2026, buy="100", sell="80")
    assert trip.gross_pnl == Decimal(-1300)
    assert trip.net_pnl == trip.gross_pnl - trip.charges.total < trip.gross_pnl


def test_a_position_sold_on_a_later_day_is_charged_on_two_contract_notes() -> None:
    trip = a_nifty_round_trip(date(2026, 9, 14), sell_date=date(2026, 9, 15))
    assert trip.charges.sebi_fee == Decimal("0.02")  # 0.0065 and 0.0078 each round up to a paisa
    assert trip.charges.stt == Decimal("11.70")


# -- refusals -----------------------------------------------------------------------------------


def test_a_float_premium_is_refused() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        CALCULATOR.order_charges(Side.BUY, 6500.0, Exchange.NSE, AFTER_BUDGET_2026)  # type: ignore[arg-type]


def test_float_prices_are_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        CALCULATOR.round_trip(100.0, Decimal(120), 65, Exchange.NSE, AFTER_BUDGET_2026)  # type: ignore[arg-type]


def test_a_fractional_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        CALCULATOR.round_trip(Decimal(100), Decimal(120), 65.0, Exchange.NSE, AFTER_BUDGET_2026)  # type: ignore[arg-type]


def test_a_zero_or_negative_turnover_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        CALCULATOR.order_charges(Side.SELL, Decimal(0), Exchange.NSE, AFTER_BUDGET_2026)


def test_a_trade_date_before_the_rate_table_is_refused() -> None:
    with pytest.raises(ChargeRatesUnavailableError, match="2024-09-30"):
        CALCULATOR.order_charges(Side.BUY, Decimal(6500), Exchange.NSE, date(2024, 9, 30))


def test_a_rate_set_missing_an_exchange_is_refused() -> None:
    with pytest.raises(ValueError, match="BSE"):
        replace(APR_2026_RATES, exchange_txn={Exchange.NSE: Decimal("0.0003503")})


def test_every_rate_set_names_its_sources() -> None:
    assert all("STT" in rates.sources for rates in DHAN_OPTION_RATES.rate_sets)


# -- properties ---------------------------------------------------------------------------------

turnovers = st.decimals(min_value=Decimal("0.05"), max_value=Decimal(10_000_000), places=2)
trade_dates = st.dates(min_value=date(2024, 10, 1), max_value=date(2027, 12, 31))


@given(
    st.sampled_from(list(Side)),
    st.sampled_from(list(Exchange)),
    trade_dates,
    turnovers,
    turnovers,
)
def test_charges_are_never_negative_and_never_fall_as_turnover_rises(
    side: Side, exchange: Exchange, trade_date: date, first: Decimal, second: Decimal
) -> None:
    small, large = sorted((first, second))
    low = CALCULATOR.order_charges(side, small, exchange, trade_date)
    high = CALCULATOR.order_charges(side, large, exchange, trade_date)
    for component in fields(ChargeBreakdown):
        assert 0 <= getattr(low, component.name) <= getattr(high, component.name)
    assert low.total <= high.total
    assert low.total.as_tuple().exponent == -2
