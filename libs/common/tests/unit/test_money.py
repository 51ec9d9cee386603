from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.money import (
    OPTION_TICK,
    PriceError,
    Rounding,
    format_inr,
    is_on_tick,
    paise_to_rupees,
    price_from_float,
    round_to_tick,
    rupees_to_paise,
    to_decimal,
    validate_price,
)

prices = st.decimals(min_value=Decimal(0), max_value=Decimal(100_000), places=4, allow_nan=False)
ticks = st.integers(min_value=0, max_value=2_000_000).map(lambda n: n * OPTION_TICK)


@given(prices)
def test_rounding_to_the_tick_always_lands_on_the_tick_within_half_a_tick(value: Decimal) -> None:
    rounded = round_to_tick(value)
    assert is_on_tick(rounded)
    assert abs(rounded - value) <= OPTION_TICK / 2


@given(prices)
def test_rounding_down_never_rises_and_rounding_up_never_falls(value: Decimal) -> None:
    down, up = round_to_tick(value, rounding=Rounding.DOWN), round_to_tick(value, rounding=Rounding.UP)
    assert down <= value <= up
    assert up - down in (Decimal(0), OPTION_TICK)


@given(ticks)
def test_a_price_on_the_tick_is_unchanged_by_every_rounding(value: Decimal) -> None:
    for rounding in Rounding:
        assert round_to_tick(value, rounding=rounding) == value
    assert validate_price(value) == value


@given(prices.filter(lambda v: v % OPTION_TICK != 0))
def test_an_off_tick_price_is_refused(value: Decimal) -> None:
    with pytest.raises(PriceError, match="tick"):
        validate_price(value)


@given(st.floats(min_value=0.0, max_value=50_000.0, allow_nan=False, width=32))
def test_a_float32_wire_price_converts_to_a_tick_price_within_half_a_tick(value: float) -> None:
    price = price_from_float(value)
    assert is_on_tick(price)
    assert abs(price - Decimal(repr(value))) <= OPTION_TICK / 2


def test_float32_of_a_tick_price_converts_back_exactly() -> None:
    import struct

    wire = struct.unpack("<f", struct.pack("<f", 112.35))[0]  # 112.3499984741211
    assert price_from_float(wire) == Decimal("112.35")


@pytest.mark.parametrize("bad", [1.5, float("nan"), "abc", None, True, Decimal("Infinity")])
def test_floats_and_non_numbers_are_not_money(bad: object) -> None:
    with pytest.raises(PriceError):
        to_decimal(bad)


def test_negative_prices_are_refused() -> None:
    with pytest.raises(PriceError, match="negative"):
        validate_price("-0.05")


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_paise_round_trip(paise: int) -> None:
    assert rupees_to_paise(paise_to_rupees(paise)) == paise


def test_fractions_of_a_paisa_are_refused_as_paise() -> None:
    with pytest.raises(PriceError, match="paisa"):
        rupees_to_paise(Decimal("1.005"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "₹0.00"),
        ("999.99", "₹999.99"),
        ("4433.87", "₹4,433.87"),
        ("-5224.96", "-₹5,224.96"),
        ("100000", "₹1,00,000.00"),
        ("1234567.891", "₹12,34,567.89"),
        ("-10000000", "-₹1,00,00,000.00"),
        ("-0.001", "₹0.00"),
    ],
)
def test_rupees_are_grouped_in_thousands_lakhs_and_crores(amount: str, text: str) -> None:
    assert format_inr(Decimal(amount)) == text


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False))
def test_a_formatted_amount_reads_back_as_the_amount(amount: Decimal) -> None:
    text = format_inr(amount)
    assert Decimal(text.replace("₹", "").replace(",", "")) == amount
    assert "," not in text.split(".")[0][-3:]  # the last group is three digits, no comma inside
