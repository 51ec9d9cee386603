"""Venue schemas of Dhan's option chain and expiry list (REFERENCE §8), and their mapping inward.

The models mirror Dhan's JSON, ignore fields they do not name (Dhan adds fields), and accept a
side missing from a strike. Floats become Decimal once, here: option prices through
`price_from_float` (snapped to the ₹0.05 tick), the index level and delta through their repr.
A side without `security_id` (captures before v2.5) is dropped: it cannot be ordered.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sarathi.common.domain.instruments import OptionType, SecurityId, Underlying
from sarathi.common.domain.money import price_from_float
from sarathi.execution.domain.chain import OptionChain, OptionQuote


class ChainSchemaError(ValueError):
    """Dhan's reply is not an option chain or expiry list as documented."""


class _Venue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Greeks(_Venue):
    delta: float = 0.0


class ChainSide(_Venue):
    security_id: int | None = None
    last_price: float = 0.0
    top_bid_price: float = 0.0
    top_ask_price: float = 0.0
    oi: int = 0
    volume: int = 0
    greeks: Greeks = Field(default_factory=Greeks)


class ChainStrike(_Venue):
    ce: ChainSide | None = None
    pe: ChainSide | None = None


class ChainData(_Venue):
    last_price: float
    oc: dict[str, ChainStrike]


class ChainReply(_Venue):
    data: ChainData
    status: str = "success"


class ExpiryListReply(_Venue):
    data: list[date]
    status: str = "success"


def _decimal(value: float) -> Decimal:
    if not math.isfinite(value):
        raise ChainSchemaError(f"not a finite number: {value!r}")
    return Decimal(repr(value))


def _quote(strike: Decimal, option_type: OptionType, side: ChainSide) -> OptionQuote | None:
    if side.security_id is None:
        return None
    return OptionQuote(
        strike=strike, option_type=option_type, security_id=SecurityId(str(side.security_id)),
        bid=price_from_float(side.top_bid_price), ask=price_from_float(side.top_ask_price),
        ltp=price_from_float(side.last_price), oi=side.oi, volume=side.volume,
        delta=_decimal(side.greeks.delta),
    )  # fmt: skip


def parse_chain(body: Any, underlying: Underlying, expiry: date, fetched_at: datetime) -> OptionChain:
    """Dhan's `/optionchain` body as an `OptionChain` fetched at `fetched_at` (market time)."""
    try:
        reply = ChainReply.model_validate(body)
    except ValidationError as exc:
        raise ChainSchemaError(f"not an option chain: {exc}") from exc
    quotes: list[OptionQuote] = []
    for key, row in reply.data.oc.items():
        try:
            strike = Decimal(key).normalize()
        except ArithmeticError as exc:
            raise ChainSchemaError(f"strike key {key!r} is not a number") from exc
        strike = strike.quantize(Decimal(1)) if strike == strike.to_integral_value() else strike
        for option_type, side in ((OptionType.CALL, row.ce), (OptionType.PUT, row.pe)):
            quote = None if side is None else _quote(strike, option_type, side)
            if quote is not None:
                quotes.append(quote)
    return OptionChain(underlying, expiry, _decimal(reply.data.last_price), tuple(quotes), fetched_at)


def parse_expiry_list(body: Any) -> list[date]:
    try:
        return sorted(ExpiryListReply.model_validate(body).data)
    except ValidationError as exc:
        raise ChainSchemaError(f"not an expiry list: {exc}") from exc
