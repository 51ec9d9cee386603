"""Money and prices: Decimal rupees, never float.

A `Price` is a premium or index level in rupees on a tick grid (₹0.05 for index options). It is
an immutable value; arithmetic that could leave the grid returns plain `Decimal` and must be
rounded back explicitly with `round_to_tick`, choosing a direction. Amounts of money (P&L,
charges) are `Decimal` rupees quantized to the paisa by `to_paise_precision`.

Dhan's feed sends float32 prices; they are converted once, at the edge, by `price_from_float`,
which takes the float's shortest decimal representation and snaps it to the tick.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

OPTION_TICK = Decimal("0.05")
PAISA = Decimal("0.01")


class PriceError(ValueError):
    """A price that is not a finite, non-negative number on its tick grid."""


class Rounding(StrEnum):
    """Which way a price is moved onto the tick grid."""

    NEAREST = "nearest"  # half-up: 100.025 -> 100.05
    DOWN = "down"  # towards -inf: a buyer's limit never rises, a stop for a long never rises
    UP = "up"  # towards +inf: a target for a long never falls


_MODES = {Rounding.NEAREST: ROUND_HALF_UP, Rounding.DOWN: ROUND_FLOOR, Rounding.UP: ROUND_CEILING}


def to_decimal(value: object) -> Decimal:
    """A Decimal from a Decimal, int or numeric string. Floats are refused: use `price_from_float`."""
    if isinstance(value, bool):
        raise PriceError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation as exc:
            raise PriceError(f"not a number: {value!r}") from exc
    elif isinstance(value, float):
        raise PriceError(
            f"float {value!r} refused: money is Decimal (convert at the edge with price_from_float)"
        )
    else:
        raise PriceError(f"not a number: {value!r}")
    if not result.is_finite():
        raise PriceError(f"not a finite number: {value!r}")
    return result


def is_on_tick(value: Decimal, tick: Decimal = OPTION_TICK) -> bool:
    return value % tick == 0


def round_to_tick(
    value: Decimal, tick: Decimal = OPTION_TICK, rounding: Rounding = Rounding.NEAREST
) -> Decimal:
    """`value` moved onto the tick grid in the given direction, with the tick's number of decimals."""
    steps = (value / tick).to_integral_value(rounding=_MODES[rounding])
    return (steps * tick).quantize(tick)


def validate_price(value: object, tick: Decimal = OPTION_TICK) -> Decimal:
    """The value as a Decimal price, or `PriceError` if negative or off the tick."""
    result = to_decimal(value)
    if result < 0:
        raise PriceError(f"negative price: {result}")
    if not is_on_tick(result, tick):
        raise PriceError(f"price {result} is not on the {tick} tick")
    return result.quantize(tick) if result.as_tuple().exponent != tick.as_tuple().exponent else result


def price_from_float(value: float, tick: Decimal = OPTION_TICK) -> Decimal:
    """Convert a wire float (Dhan float32, JSON number) once: shortest repr, snapped to the tick."""
    if not math.isfinite(value):
        raise PriceError(f"not a finite price: {value!r}")
    return round_to_tick(Decimal(repr(float(value))), tick, Rounding.NEAREST)


def to_paise_precision(amount: Decimal) -> Decimal:
    """A money amount rounded to the paisa (banker's rounding, as accumulation-neutral)."""
    return amount.quantize(PAISA, rounding=ROUND_HALF_EVEN)


def format_inr(amount: Decimal) -> str:
    """An amount as a trader in India reads it, to the paisa, grouped in thousands, lakhs and
    crores: `₹23,722.51`, `-₹5,224.96`, `₹12,34,567.00`, `₹1,00,00,000.00`."""
    rounded = to_paise_precision(amount)
    rupees, paise = f"{abs(rounded):.2f}".split(".")
    head, tail = rupees[:-3], rupees[-3:]
    pairs = [head[max(0, end - 2) : end] for end in range(len(head), 0, -2)][::-1]
    grouped = ",".join([*pairs, tail]) if head else tail
    return f"{'-' if rounded < 0 else ''}₹{grouped}.{paise}"


def rupees_to_paise(amount: Decimal) -> int:
    """Integer paise of an amount that is already on the paisa."""
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise PriceError(f"{amount} has fractions of a paisa")
    return int(paise)


def paise_to_rupees(paise: int) -> Decimal:
    return (Decimal(paise) / 100).quantize(PAISA)


def _price_before(value: Any) -> Decimal:
    return validate_price(value)


def _money_before(value: Any) -> Decimal:
    return to_decimal(value)


def _index_level_before(value: Any) -> Decimal:
    level = to_decimal(value)
    if level < 0:
        raise PriceError(f"negative index level: {level}")
    return level


# Pydantic field types: Decimal inside, a JSON string on the wire (never a JSON float).
Price = Annotated[Decimal, BeforeValidator(_price_before), PlainSerializer(str, return_type=str)]
"""A non-negative Decimal on the ₹0.05 tick; serialized as a string."""

Money = Annotated[Decimal, BeforeValidator(_money_before), PlainSerializer(str, return_type=str)]
"""A Decimal rupee amount (may be negative); serialized as a string."""

IndexLevel = Annotated[Decimal, BeforeValidator(_index_level_before), PlainSerializer(str, return_type=str)]
"""A non-negative index value (not necessarily on the option tick); serialized as a string."""
