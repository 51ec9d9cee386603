"""The P&L of a trade, gross and net of charges: the one function every view of P&L uses.

A trade is one position in one contract, from flat to long and back to flat. Risk (its daily P&L
and loss limit, `/pnl`, `/positions`, its metrics, so the progress line, `sarathi status` and the
dashboards) and the day's report compute it with `trade_pnl`, from the same facts: the trade's
fills, each named by the order it belongs to.

- Gross = premium sold − premium bought, with the units still held valued at `mark` (the latest
  price) when one is given and left out when none is.
- Charges are one contract note per trade (`ChargesCalculator.contract_note`): one executed order
  per distinct order id (partial fills of an order are one order; ₹20 brokerage each, so a pyramid,
  a split exit or a super-order leg each count), premium turnover from the fills' own prices. The
  units still held count as one more sell order at `mark`: what closing them now would cost. Without
  a mark, an open trade counts only what was executed.
- Realized is on the trade's average buy price: `sold × (sell average − buy average)` to the
  paisa, exactly `sold − bought` once flat; unrealized, `held × (mark − buy average)`, is the rest
  of the gross, so realized + unrealized is the gross exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange, ExchangeSegment
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.domain.trading import Side

__all__ = ["NO_PNL", "Pnl", "TradeFill", "exchange_of", "realized_pnl", "trade_pnl"]

ZERO = Decimal(0)
_EXCHANGE = {ExchangeSegment.NSE_FNO: Exchange.NSE, ExchangeSegment.BSE_FNO: Exchange.BSE}


def exchange_of(segment: ExchangeSegment) -> Exchange:
    """The exchange whose charges apply to an option of `segment` (NSE unless BSE F&O)."""
    return _EXCHANGE.get(segment, Exchange.NSE)


@dataclass(frozen=True, slots=True)
class TradeFill:
    """One execution: `quantity` units at `price` of order `order_id` (our client order id)."""

    order_id: str
    side: Side
    quantity: int
    price: Decimal

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise ValueError(f"a fill has a positive whole quantity, got {self.quantity!r}")
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"a fill has a positive Decimal price, got {self.price!r}")

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class Pnl:
    """Realized + unrealized P&L in rupees; `net = gross − charges`."""

    realized: Decimal
    unrealized: Decimal
    charges: Decimal

    @property
    def gross(self) -> Decimal:
        return self.realized + self.unrealized

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges

    def __add__(self, other: Pnl) -> Pnl:
        return Pnl(
            self.realized + other.realized, self.unrealized + other.unrealized, self.charges + other.charges
        )


NO_PNL = Pnl(ZERO, ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class _Sides:
    bought: int
    sold: int
    buy_value: Decimal
    sell_value: Decimal

    @property
    def held(self) -> int:
        return self.bought - self.sold

    @property
    def realized(self) -> Decimal:
        if self.held <= 0:  # flat; sold more than bought is a broken book the caller reports
            return self.sell_value - self.buy_value
        return to_paise_precision(self.sell_value - self.buy_value / self.bought * self.sold)


def _sides(fills: Iterable[TradeFill]) -> _Sides:
    bought = sold = 0
    buy_value = sell_value = ZERO
    for fill in fills:
        if fill.side is Side.BUY:
            bought, buy_value = bought + fill.quantity, buy_value + fill.value
        else:
            sold, sell_value = sold + fill.quantity, sell_value + fill.value
    return _Sides(bought, sold, buy_value, sell_value)


def realized_pnl(fills: Iterable[TradeFill]) -> Decimal:
    """The realized gross P&L of a trade's fills (see the module text): no charges, no rates."""
    return _sides(fills).realized


def trade_pnl(
    fills: Iterable[TradeFill],
    exchange: Exchange,
    day: date,
    calculator: ChargesCalculator,
    mark: Decimal | None = None,
) -> Pnl:
    """The P&L of one trade from its fills, its open units valued at `mark` (if given) on `day`."""
    fills = list(fills)
    sides = _sides(fills)
    realized, held = sides.realized, sides.held
    unrealized = ZERO
    if held > 0 and mark is not None:
        # the gross is exact: unrealized is what is left of it once realized is on the paisa
        unrealized = sides.sell_value + mark * held - sides.buy_value - realized
    orders: dict[tuple[str, Side], Decimal] = {}
    for fill in fills:
        key = (fill.order_id, fill.side)
        orders[key] = orders.get(key, ZERO) + fill.value
    note = [(side, value) for (_, side), value in orders.items()]
    if held > 0 and mark is not None and mark > 0:
        note.append((Side.SELL, mark * held))
    charges = calculator.contract_note(note, exchange, day).total if note else ZERO
    return Pnl(realized, unrealized, charges)
