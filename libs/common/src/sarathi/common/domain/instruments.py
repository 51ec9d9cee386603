"""Exchange segments, option types, underlyings, identifiers and quantities.

Facts from `shared/dhan/REFERENCE.md`: §6.4 (segment codes of the binary feed), §10.2–10.4
(expiry weekdays, lot sizes, strike steps). Lot sizes change twice a year: the numbers here are
defaults for the simulator and tests only; orders always use the lot size of the Derivative table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum, StrEnum
from typing import NewType

SecurityId = NewType("SecurityId", str)
"""Dhan's security id of an instrument, as the string used in REST bodies and subjects."""

ClientOrderId = NewType("ClientOrderId", str)
"""Our deterministic id of an order command; sent to Dhan as `correlationId` (≤25 chars)."""

BrokerOrderId = NewType("BrokerOrderId", str)
"""Dhan's `orderId`."""

CORRELATION_ID_MAX_LEN = 25  # live sandbox cap (docs say 30): REFERENCE §2.3


class ExchangeSegment(Enum):
    """Dhan's exchange segments: the string enum of REST and the numeric code of the binary feed."""

    IDX_I = ("IDX_I", 0)
    NSE_EQ = ("NSE_EQ", 1)
    NSE_FNO = ("NSE_FNO", 2)
    NSE_CURRENCY = ("NSE_CURRENCY", 3)
    BSE_EQ = ("BSE_EQ", 4)
    MCX_COMM = ("MCX_COMM", 5)
    BSE_CURRENCY = ("BSE_CURRENCY", 7)
    BSE_FNO = ("BSE_FNO", 8)

    def __init__(self, wire: str, code: int) -> None:
        self.wire = wire
        self.code = code

    @classmethod
    def from_wire(cls, wire: str) -> ExchangeSegment:
        try:
            return _BY_WIRE[wire]
        except KeyError:
            raise ValueError(f"unknown exchange segment {wire!r}") from None

    @classmethod
    def from_code(cls, code: int) -> ExchangeSegment:
        try:
            return _BY_CODE[code]
        except KeyError:
            raise ValueError(f"unknown exchange segment code {code}") from None

    def __str__(self) -> str:
        return self.wire


_BY_WIRE = {s.wire: s for s in ExchangeSegment}
_BY_CODE = {s.code: s for s in ExchangeSegment}


class OptionType(StrEnum):
    CALL = "CE"
    PUT = "PE"

    @property
    def dhan_name(self) -> str:
        """The spelling of Dhan's `drvOptionType`."""
        return "CALL" if self is OptionType.CALL else "PUT"


class Exchange(StrEnum):
    NSE = "NSE"
    BSE = "BSE"


@dataclass(frozen=True, slots=True)
class UnderlyingSpec:
    """An index we trade options on."""

    name: str
    security_id: SecurityId  # IDX_I id, also the option chain's UnderlyingScrip
    exchange: Exchange
    fno_segment: ExchangeSegment
    strike_step: Decimal
    default_lot_size: int  # for the simulator and tests; orders use the Derivative table


class Underlying(StrEnum):
    NIFTY = "NIFTY"
    BANKNIFTY = "BANKNIFTY"
    SENSEX = "SENSEX"

    @property
    def spec(self) -> UnderlyingSpec:
        return UNDERLYINGS[self]

    @property
    def index_segment(self) -> ExchangeSegment:
        return ExchangeSegment.IDX_I


UNDERLYINGS: dict[Underlying, UnderlyingSpec] = {
    Underlying.NIFTY: UnderlyingSpec(
        "NIFTY", SecurityId("13"), Exchange.NSE, ExchangeSegment.NSE_FNO, Decimal(50), 65
    ),
    Underlying.BANKNIFTY: UnderlyingSpec(
        "BANKNIFTY", SecurityId("25"), Exchange.NSE, ExchangeSegment.NSE_FNO, Decimal(100), 30
    ),
    Underlying.SENSEX: UnderlyingSpec(
        "SENSEX", SecurityId("51"), Exchange.BSE, ExchangeSegment.BSE_FNO, Decimal(100), 20
    ),
}


def underlying_by_index_id(security_id: str) -> Underlying | None:
    for underlying, spec in UNDERLYINGS.items():
        if spec.security_id == security_id:
            return underlying
    return None


class QuantityError(ValueError):
    """A quantity that is not a positive whole number of lots."""


@dataclass(frozen=True, slots=True)
class Lots:
    """A whole number of lots of a contract with a given lot size. Dhan quantities are units."""

    count: int
    lot_size: int

    def __post_init__(self) -> None:
        if self.lot_size <= 0:
            raise QuantityError(f"lot size must be positive, got {self.lot_size}")
        if self.count < 0:
            raise QuantityError(f"lot count must not be negative, got {self.count}")

    @property
    def units(self) -> int:
        return self.count * self.lot_size

    @classmethod
    def from_units(cls, units: int, lot_size: int) -> Lots:
        if lot_size <= 0:
            raise QuantityError(f"lot size must be positive, got {lot_size}")
        if units % lot_size:
            raise QuantityError(f"{units} units is not a whole number of lots of {lot_size}")
        return cls(units // lot_size, lot_size)


@dataclass(frozen=True, slots=True)
class ContractKey:
    """A contract as the broker nets positions and the feed keys ticks: segment and security id."""

    segment: ExchangeSegment
    security_id: str


@dataclass(frozen=True, slots=True)
class Contract:
    """An option contract as the Derivative table knows it."""

    security_id: SecurityId
    segment: ExchangeSegment
    underlying: Underlying
    expiry: date
    strike: Decimal
    option_type: OptionType
    lot_size: int
    tick_size: Decimal

    @property
    def key(self) -> ContractKey:
        return ContractKey(self.segment, self.security_id)

    @property
    def name(self) -> str:
        """How a trader names it: `NIFTY 24200 CE 22-Sep`."""
        return contract_name(self.underlying.value, self.strike, self.option_type.value, self.expiry)


def contract_name(underlying: str, strike: Decimal, option_type: str, expiry: date) -> str:
    """How a trader names an option contract: `NIFTY 24200 CE 22-Sep`."""
    return f"{underlying} {strike.normalize():f} {option_type} {expiry:%d-%b}"
