"""Field types shared by the bus messages (their enums are the domain's: `domain.trading`).

Decimals on the wire: every amount of money, price, index level or ratio is a JSON *string*
(`"112.35"`) and is a `Decimal` inside. JSON numbers are refused for them, integers included:
`100.05` as a number may already have been rounded by the producer's float, and accepting `100`
but not `100.05` would let a producer that writes numbers pass its tests and fail in the market.
For the same reason a Python `int` or `float` is refused when constructing a message: pass a
`Decimal` (or a numeric string). The codec (`decode`) validates `json.loads` output, where a JSON
integer and a Python int are indistinguishable, so the rule has to hold for both.

Quantities are strict JSON integers (`65`, not `"65"` or `65.0`). Identifiers are strings with
the character set the bus subjects and Dhan's `correlationId` allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from sarathi.common.domain.instruments import (
    CORRELATION_ID_MAX_LEN,
    BrokerOrderId,
    ClientOrderId,
    ExchangeSegment,
    SecurityId,
)
from sarathi.common.domain.money import IndexLevel, Money, Price, to_decimal


class FrozenModel(BaseModel):
    """Base of the parts nested inside a message: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- decimals ---------------------------------------------------------------------------------

_DECIMAL_JSON_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})


def _refuse_numbers(value: Any) -> Any:
    """Let only `Decimal` and strings through to the decimal validators (see the module docstring)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f'number {value!r} refused: decimals travel as JSON strings ("12.30") and are built from Decimal'
        )
    return value


def _non_negative(value: Any) -> Decimal:
    result = to_decimal(value)
    if result < 0:
        raise ValueError(f"must not be negative, got {result}")
    return result


def _positive(value: Any) -> Decimal:
    result = to_decimal(value)
    if result <= 0:
        raise ValueError(f"must be positive, got {result}")
    return result


_AS_STR = PlainSerializer(str, return_type=str)
_STRICT_DECIMAL = BeforeValidator(_refuse_numbers)

WirePrice = Annotated[Price, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA]
"""An option premium: non-negative, on the ₹0.05 tick (`domain.money.Price`), a JSON string."""

WireMoney = Annotated[Money, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA]
"""Rupees, may be negative (P&L): `domain.money.Money`, a JSON string."""

WireIndexLevel = Annotated[IndexLevel, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA]
"""An index value such as 24812.35 (no tick grid): `domain.money.IndexLevel`, a JSON string."""

QuotePrice = Annotated[
    Decimal, BeforeValidator(_non_negative), _AS_STR, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA
]
"""A traded or quoted price of any instrument: non-negative. Whether it must lie on the option
tick depends on the instrument's segment, so the message that carries it checks that."""

AveragePrice = Annotated[
    Decimal, BeforeValidator(_non_negative), _AS_STR, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA
]
"""An average of fill prices: non-negative, not necessarily on the tick (100.05 and 100.10 → 100.075)."""

PositiveDecimal = Annotated[
    Decimal, BeforeValidator(_positive), _AS_STR, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA
]
"""A strictly positive decimal (a strike, a speed factor), a JSON string."""

WireDecimal = Annotated[Decimal, BeforeValidator(to_decimal), _AS_STR, _STRICT_DECIMAL, _DECIMAL_JSON_SCHEMA]
"""Any finite decimal (an indicator value), a JSON string."""


def _freeze_mapping(value: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    return MappingProxyType(dict(value))


def _dump_mapping(value: Mapping[str, Decimal]) -> dict[str, str]:
    return {key: str(value[key]) for key in sorted(value)}


DecimalMap = Annotated[
    Mapping[Annotated[str, StringConstraints(min_length=1, max_length=64)], WireDecimal],
    AfterValidator(_freeze_mapping),
    PlainSerializer(_dump_mapping, return_type=dict[str, str]),
]
"""Named decimals (e.g. indicator values): a read-only mapping inside, a JSON object of strings."""


# --- integers ---------------------------------------------------------------------------------

Quantity = Annotated[int, Strict(), Field(gt=0)]
"""A positive number of units (Dhan quantities are units, not lots), a strict JSON integer."""

Count = Annotated[int, Strict(), Field(ge=0)]
"""A non-negative count (volume, open interest, fills so far), a strict JSON integer."""


def _never_short(value: int) -> int:
    if value < 0:
        raise ValueError(
            f"net quantity {value} is short: Sarathi only buys options, a position is never short"
        )
    return value


NetQuantity = Annotated[int, Strict(), AfterValidator(_never_short)]
"""A position's net quantity in units: never negative in a buy-only system."""

Milliseconds = Annotated[int, Strict(), Field(ge=0)]
"""A non-negative duration in whole milliseconds."""


# --- identifiers and text ---------------------------------------------------------------------


def _segment(value: Any) -> ExchangeSegment:
    if isinstance(value, ExchangeSegment):
        return value
    if isinstance(value, str):
        return ExchangeSegment.from_wire(value)
    raise ValueError(f"an exchange segment is a string such as 'NSE_FNO', got {value!r}")


Segment = Annotated[
    ExchangeSegment,
    PlainValidator(_segment),
    PlainSerializer(lambda segment: segment.wire, return_type=str),
    WithJsonSchema({"type": "string", "enum": [segment.wire for segment in ExchangeSegment]}),
]
"""An `ExchangeSegment`, spelt on the wire as Dhan's REST string (`"NSE_FNO"`)."""

WireSecurityId = Annotated[SecurityId, StringConstraints(pattern=r"^[0-9]{1,20}$")]
"""Dhan's numeric security id as a string (it is also a token of the tick subject)."""

CLIENT_ORDER_ID_PATTERN = rf"^[A-Za-z0-9_-]{{1,{CORRELATION_ID_MAX_LEN}}}$"

WireClientOrderId = Annotated[ClientOrderId, StringConstraints(pattern=CLIENT_ORDER_ID_PATTERN)]
"""Our deterministic command id, as Dhan accepts it for `correlationId` (≤25 chars, no spaces)."""

WireBrokerOrderId = Annotated[BrokerOrderId, StringConstraints(min_length=1, max_length=64)]
"""Dhan's `orderId`."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""Who or what: a service, an operator, a strategy, a connection."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
"""A human-readable reason or error message."""

BarInterval = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}[smhd]$")]
"""A bar length such as `"1m"`, `"5m"`, `"1h"`, `"1d"` (also a token of the bar subject)."""
