"""Dhan's JSON for quotes and option-chain rows (REFERENCE §6.10, §8.2).

The wire carries JSON numbers: each Decimal becomes a float here, at the edge, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import round_to_tick
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.view import DepthLevel, Quote

QuoteView = Callable[[SimInstrument, Quote], dict[str, Any]]


def _f(value: Decimal) -> float:
    return float(value)


def chain_side(instrument: SimInstrument, quote: Quote) -> dict[str, Any]:
    """One `ce`/`pe` object of the option chain (v2.5: with `security_id`, `average_price`)."""
    greeks = quote.greeks
    return {
        "average_price": _f(quote.average_price),
        "greeks": {
            "delta": _f(greeks.delta) if greeks else 0.0,
            "theta": _f(greeks.theta) if greeks else 0.0,
            "gamma": _f(greeks.gamma) if greeks else 0.0,
            "vega": _f(greeks.vega) if greeks else 0.0,
        },
        "implied_volatility": _f(quote.iv) if quote.iv is not None else 0.0,
        "last_price": _f(quote.ltp),
        "oi": quote.oi,
        "previous_close_price": _f(quote.prev_close),
        "previous_oi": quote.prev_oi,
        "previous_volume": quote.prev_volume,
        "security_id": int(instrument.security_id),
        "top_ask_price": _f(quote.ask),
        "top_ask_quantity": quote.ask_qty,
        "top_bid_price": _f(quote.bid),
        "top_bid_quantity": quote.bid_qty,
        "volume": quote.volume,
    }


def strike_key(strike: Decimal) -> str:
    return f"{strike:.6f}"  # "24000.000000" (§8.2)


def ltp_view(_: SimInstrument, quote: Quote) -> dict[str, Any]:
    return {"last_price": _f(quote.ltp)}


def _ohlc(quote: Quote) -> dict[str, float]:
    # During the day `close` is the previous close (§6.10).
    return {
        "open": _f(quote.open),
        "close": _f(quote.prev_close),
        "high": _f(quote.high),
        "low": _f(quote.low),
    }


def ohlc_view(_: SimInstrument, quote: Quote) -> dict[str, Any]:
    return {"last_price": _f(quote.ltp), "ohlc": _ohlc(quote)}


def _levels(levels: tuple[DepthLevel, ...]) -> list[dict[str, Any]]:
    padded = list(levels[:5]) + [DepthLevel(Decimal(0), 0, 0)] * (5 - len(levels[:5]))
    return [{"quantity": lv.quantity, "orders": lv.orders, "price": _f(lv.price)} for lv in padded]


def circuit_limits(instrument: SimInstrument, prev_close: Decimal) -> tuple[Decimal, Decimal]:
    """(lower, upper) band. UNVERIFIED: exchanges set option bands dynamically; this keeps the
    shape of the live master rows (floor ₹0.05, ceiling well above the previous close)."""
    if instrument.is_index:
        return Decimal(0), Decimal(0)
    return Decimal("0.05"), round_to_tick(prev_close * 2 + 20)


def _trade_time(instant: datetime) -> str:
    """IST `DD/MM/YYYY HH:MM:SS` (every simulated instrument trades, so never `01/01/1980 ...`)."""
    return instant.astimezone(IST).strftime("%d/%m/%Y %H:%M:%S")


def quote_view(instrument: SimInstrument, quote: Quote) -> dict[str, Any]:
    lower, upper = circuit_limits(instrument, quote.prev_close)
    return {
        "average_price": _f(quote.average_price),
        "buy_quantity": sum(level.quantity for level in quote.bid_depth),
        "sell_quantity": sum(level.quantity for level in quote.ask_depth),
        "depth": {"buy": _levels(quote.bid_depth), "sell": _levels(quote.ask_depth)},
        "last_price": _f(quote.ltp),
        "last_quantity": quote.last_qty,
        "last_trade_time": _trade_time(quote.last_trade_time),
        "lower_circuit_limit": _f(lower),
        "upper_circuit_limit": _f(upper),
        "net_change": round(_f(quote.ltp - quote.prev_close), 2),
        "ohlc": _ohlc(quote),
        "oi": quote.oi,
        "oi_day_high": max(quote.oi, quote.prev_oi),  # OI moves monotonically through a sim day
        "oi_day_low": min(quote.oi, quote.prev_oi),
        "volume": quote.volume,
    }
