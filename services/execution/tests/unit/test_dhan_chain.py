"""Dhan's option-chain JSON (REFERENCE §8.2) into the domain chain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.execution.adapters.dhan_chain import ChainSchemaError, parse_chain, parse_expiry_list

AT = datetime(2026, 9, 15, 10, 0, tzinfo=IST)
REFERENCE_BODY = {
    "data": {
        "last_price": 24012.45,
        "oc": {
            "24000.000000": {
                "ce": {"average_price": 118.72, "greeks": {"delta": 0.5213, "theta": -14.882},
                       "implied_volatility": 10.42, "last_price": 112.35, "oi": 4123450, "security_id": 47317,
                       "top_ask_price": 112.40, "top_ask_quantity": 975, "top_bid_price": 112.30,
                       "top_bid_quantity": 1300, "volume": 104560340},
                "pe": {"greeks": {"delta": -0.4781}, "last_price": 98.60, "oi": 3890100, "security_id": 47318,
                       "top_ask_price": 98.65, "top_bid_price": 98.55, "volume": 120345670},
            },
            "24050.000000": {"pe": {"last_price": 120.0, "top_bid_price": 119.95, "top_ask_price": 120.05}},
        },
    },
    "status": "success",
}  # fmt: skip


def test_the_reference_sample_maps_to_decimal_quotes() -> None:
    chain = parse_chain(REFERENCE_BODY, Underlying.NIFTY, date(2026, 9, 15), AT)
    assert chain.underlying_price == Decimal("24012.45")
    call = chain.side(OptionType.CALL)[0]
    assert (call.strike, call.security_id, call.bid, call.ask) == (
        Decimal(24000), "47317", Decimal("112.30"), Decimal("112.40"),
    )  # fmt: skip
    assert (call.oi, call.volume, call.delta) == (4123450, 104560340, Decimal("0.5213"))
    assert chain.atm_strike() == Decimal(24000)


def test_a_side_without_security_id_cannot_be_ordered_and_is_dropped() -> None:
    chain = parse_chain(REFERENCE_BODY, Underlying.NIFTY, date(2026, 9, 15), AT)
    assert [q.security_id for q in chain.side(OptionType.PUT)] == ["47318"]


def test_a_body_that_is_not_a_chain_is_a_schema_error() -> None:
    with pytest.raises(ChainSchemaError):
        parse_chain(
            {"data": {"805": "Too many requests"}, "status": "failed"}, Underlying.NIFTY, AT.date(), AT
        )


def test_expiry_list() -> None:
    body = {"data": ["2026-09-22", "2026-09-15"], "status": "success"}
    assert parse_expiry_list(body) == [date(2026, 9, 15), date(2026, 9, 22)]
