"""The backtest's fill model (written down in `apps/cli/README.md`, "sarathi backtest").

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
from decimal import Decimal

from sarathi.cli.backtest.history import OptionBar
from sarathi.common.domain.money import OPTION_TICK
from sarathi.common.domain.trading import EntryOrderType, ExitReason


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

    def market_exit(self, bar: OptionBar) -> Decimal:
        return self._sell(bar.open)

    def _sell(self, price: Decimal) -> Decimal:
        return max(price - self.slip, self.tick)
