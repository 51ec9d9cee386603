"""The backtest's fill models (written down in `apps/cli/README.md`, "sarathi backtest").

`FillModel` fills on minute bars, `QuoteFills` on a recording's quotes.

Minute bars say where a price went, not in which order, so each rule picks the cautious side:

- An entry decided at a minute's close fills in the NEXT minute: a MARKET entry at that minute's
  open plus `slippage_ticks`; a LIMIT entry there too if that is within its limit, else at its
  limit once a later minute's low plus the slippage reaches it (it rests until it fills or the
  session ends, as at the broker).
- The Super Order's legs are checked against each minute's low (stop-loss) and high (target),
  from the minute the entry filled in. When both lie inside one minute, the STOP fills. A leg fills
  at its price, or at the minute's open when the minute opened beyond it (a gap), less
  `slippage_ticks` (the sim fills a fired leg at the touch, `sarathi.sim.broker.super_orders`).
- Our own exits (trail, square-off, daily loss, stale price) are decided on a minute's close and
  sell at the next minute's open less `slippage_ticks`.

Every price is on the option tick and at least one tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sarathi.cli.backtest.history import OptionBar
from sarathi.common.domain.money import OPTION_TICK
from sarathi.common.domain.trading import EntryOrderType, ExitReason
from sarathi.common.messages.market import Tick
from sarathi.sim.broker import matching
from sarathi.sim.broker.models import Side
from sarathi.sim.broker.super_model import target_touched
from sarathi.sim.market.view import Quote


@dataclass(frozen=True, slots=True)
class FillModel:
    slippage_ticks: int = 1
    tick: Decimal = OPTION_TICK

    def __post_init__(self) -> None:
        if self.slippage_ticks < 0:
            raise ValueError("slippage_ticks must not be negative")

    @property
    def slip(self) -> Decimal:
        return self.tick * self.slippage_ticks

    @staticmethod
    def can_fill(placed_at: datetime, at: datetime) -> bool:
        """An order placed at a minute's close meets the minute that starts there."""
        return at >= placed_at

    @staticmethod
    def can_exit(placed_at: datetime, at: datetime) -> bool:
        """Our exit, decided at a minute's close, meets the minute that starts there too."""
        return at >= placed_at

    def entry(self, order_type: EntryOrderType, limit: Decimal, bar: OptionBar) -> Decimal | None:
        """The buy fill in `bar`, or None when a LIMIT entry is not reached."""
        price = bar.open + self.slip
        if order_type is EntryOrderType.MARKET or price <= limit:
            return price
        if bar.low + self.slip <= limit:
            return limit
        return None

    def legs(
        self, stop: Decimal | None, target: Decimal | None, bar: OptionBar
    ) -> tuple[ExitReason, Decimal] | None:
        """Which leg fills in `bar` (the stop first) and at what price, or None."""
        if stop is not None and bar.low <= stop:
            return ExitReason.STOP_LOSS, self._sell(min(stop, bar.open))
        if target is not None and bar.high >= target:
            return ExitReason.TARGET, self._sell(max(target, bar.open))
        return None

    def market_exit(self, bar: OptionBar) -> Decimal | None:
        return self._sell(bar.open)

    def _sell(self, price: Decimal) -> Decimal:
        return max(price - self.slip, self.tick)


class QuoteFills:
    """Fills on recorded quotes (`sarathi backtest --recording`), by the sim's paper broker's own
    rules (`sarathi.sim.broker.matching`, `super_model.target_touched`), so a recorded simulated
    day fills as it did at the sim:

    - an entry placed at instant t first meets the market at the next instant after t: execution
      decides after the sim stepped t (its bar closed on t's ticks), the sim matches it at its
      next step;
    - our exit decided by risk's check at t meets the market of t itself: in the held day risk's
      loop due at t runs before the sim steps t (the clock phase, `sarathi.sim.holds`), so the
      exit's MARKET sell is at the broker when it steps t;
    - a MARKET order is protected at the band Dhan's market-price protection gives
      (`mpp_limit`), then, like a LIMIT, fills when the opposite touch is inside its limit, at the
      touch moved `slippage_ticks` against us (`fill_price`); a buy meets the ask, a sell the bid;
    - the Super Order's stop fires when the LTP is at or below it, the target when at or above,
      the stop first; a fired leg sells at the bid;
    - a quote without bid and ask (a ticker or quote packet, no depth) has only the LTP: it fills
      at the LTP.
    """

    def __init__(self, slippage_ticks: int = 0, tick: Decimal = OPTION_TICK) -> None:
        if slippage_ticks < 0:
            raise ValueError("slippage_ticks must not be negative")
        self.slippage_ticks = slippage_ticks
        self.tick = tick

    @staticmethod
    def can_fill(placed_at: datetime, at: datetime) -> bool:
        return at > placed_at

    @staticmethod
    def can_exit(placed_at: datetime, at: datetime) -> bool:
        return at >= placed_at

    def entry(self, order_type: EntryOrderType, limit: Decimal, tick: Tick) -> Decimal | None:
        quote = _quote(tick)
        if order_type is EntryOrderType.MARKET:
            protected = matching.mpp_limit(Side.BUY, quote, self.tick)
            if protected is None:
                return None
            limit = protected
        if not matching.is_marketable(Side.BUY, limit, quote):
            return None
        return matching.fill_price(Side.BUY, quote, self.tick, self.slippage_ticks, limit)

    def legs(
        self, stop: Decimal | None, target: Decimal | None, tick: Tick
    ) -> tuple[ExitReason, Decimal] | None:
        quote = _quote(tick)
        if matching.touch(Side.SELL, quote) <= 0:
            return None  # nobody to sell to: the leg waits
        if stop is not None and matching.stop_touched(Side.SELL, stop, quote.ltp):
            return ExitReason.STOP_LOSS, self._sell(quote, None)
        if target is not None and target_touched(Side.SELL, target, quote.ltp):
            return ExitReason.TARGET, self._sell(quote, None)
        return None

    def market_exit(self, tick: Tick) -> Decimal | None:
        quote = _quote(tick)
        limit = matching.mpp_limit(Side.SELL, quote, self.tick)
        if limit is None or not matching.is_marketable(Side.SELL, limit, quote):
            return None
        return self._sell(quote, limit)

    def _sell(self, quote: Quote, limit: Decimal | None) -> Decimal:
        return matching.fill_price(Side.SELL, quote, self.tick, self.slippage_ticks, limit)


def _quote(tick: Tick) -> Quote:
    """The recorded tick as the sim's quote: the LTP stands in for a missing bid or ask."""
    ltp = tick.ltp
    bid = tick.bid if tick.bid is not None and tick.bid > 0 else ltp
    ask = tick.ask if tick.ask is not None and tick.ask > 0 else ltp
    zero = Decimal(0)
    return Quote(
        security_id=tick.security_id, at=tick.received_at, ltp=ltp, last_trade_time=tick.exchange_time,
        last_qty=tick.ltq or 0, bid=bid, ask=ask, bid_qty=tick.bid_qty or 0, ask_qty=tick.ask_qty or 0,
        volume=tick.volume or 0, oi=tick.oi or 0, open=zero, high=zero, low=zero, prev_close=zero,
        prev_oi=0, average_price=zero,
    )  # fmt: skip
