"""How an order meets a quote: market-price protection, marketability, fill prices, stop triggers.

Pure functions of an order (or side and limit) and a `Quote`; the broker decides when to call them.

* A MARKET order is converted by Dhan into a LIMIT order a band beyond the LTP (Market Price
  Protection, REFERENCE §2.2). The band per premium slab comes from Dhan's 2024 retail MPP table
  for NSE options; the band Dhan applies to API orders today is **UNVERIFIED**.
* A limit order is marketable when the opposite touch is inside its limit; it fills at the touch
  (a buy at the ask, a sell at the bid) moved `slippage_ticks` against the trader, never beyond the
  limit and never below one tick.
* A stop order (SL / SL-M) triggers on the LTP: a sell stop when LTP ≤ trigger, a buy stop when
  LTP ≥ trigger (what exchanges do for stop orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sarathi.common.domain.money import Rounding, round_to_tick
from sarathi.sim.broker.models import ZERO, Side
from sarathi.sim.market.view import Quote


@dataclass(frozen=True, slots=True)
class MppSlab:
    """Premiums up to `up_to` (inclusive) get a band of `percent` % beyond the LTP."""

    up_to: Decimal
    percent: Decimal


# UNVERIFIED: Dhan's 2024 retail MPP table for NSE options; above ₹5000 the last slab is kept.
DEFAULT_MPP_SLABS: tuple[MppSlab, ...] = (
    MppSlab(Decimal(50), Decimal(20)),
    MppSlab(Decimal(200), Decimal(10)),
    MppSlab(Decimal(1000), Decimal(5)),
    MppSlab(Decimal(5000), Decimal(2)),
)


def mpp_percent(reference: Decimal, slabs: tuple[MppSlab, ...] = DEFAULT_MPP_SLABS) -> Decimal:
    for slab in slabs:
        if reference <= slab.up_to:
            return slab.percent
    return slabs[-1].percent


def reference_price(side: Side, quote: Quote) -> Decimal:
    """The price MPP is measured from: the LTP, else the opposite touch; 0 when there is none."""
    if quote.ltp > 0:
        return quote.ltp
    touch = quote.ask if side is Side.BUY else quote.bid
    return touch if touch > 0 else ZERO


def mpp_limit(
    side: Side, quote: Quote, tick: Decimal, slabs: tuple[MppSlab, ...] = DEFAULT_MPP_SLABS
) -> Decimal | None:
    """The protected limit price of a market order, or `None` when the market shows no price."""
    reference = reference_price(side, quote)
    if reference <= 0:
        return None
    band = reference * mpp_percent(reference, slabs) / 100
    if side is Side.BUY:
        return round_to_tick(reference + band, tick, Rounding.UP)
    return max(tick, round_to_tick(reference - band, tick, Rounding.DOWN))


def touch(side: Side, quote: Quote) -> Decimal:
    """The price a marketable order of `side` meets: the ask for a buy, the bid for a sell."""
    return quote.ask if side is Side.BUY else quote.bid


def is_marketable(side: Side, limit: Decimal, quote: Quote) -> bool:
    price = touch(side, quote)
    if price <= 0:
        return False
    return price <= limit if side is Side.BUY else price >= limit


def fill_price(
    side: Side, quote: Quote, tick: Decimal, slippage_ticks: int, limit: Decimal | None
) -> Decimal:
    """The touch moved `slippage_ticks` against the trader, capped by `limit` (if any), ≥ one tick."""
    slip = tick * slippage_ticks
    price = touch(side, quote)
    if side is Side.BUY:
        price += slip
        if limit is not None:
            price = min(price, limit)
    else:
        price -= slip
        if limit is not None:
            price = max(price, limit)
    return max(tick, price)


def stop_touched(side: Side, trigger: Decimal, ltp: Decimal) -> bool:
    """Whether a stop order of `side` with `trigger` fires at `ltp` (a sell stop below, a buy stop above)."""
    if ltp <= 0:
        return False
    return ltp <= trigger if side is Side.SELL else ltp >= trigger
