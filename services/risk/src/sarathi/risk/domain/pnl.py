"""P&L of a position, gross and net of charges, from `sarathi.common`'s charges calculator.

Net P&L treats what is still open as sold at `ltp` now: the charges of the round trip are those
of one contract note with the position's buys and its sells (done and hypothetical). Brokerage is
thus counted per side, not per partial order: an estimate, reconciled only by the broker's
contract note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sarathi.common.domain.charges import ChargesCalculator, Side
from sarathi.common.domain.instruments import Exchange, ExchangeSegment
from sarathi.common.domain.money import to_paise_precision
from sarathi.risk.domain.position import ZERO, TrackedPosition
from sarathi.risk.domain.rules import PnlBasis

_EXCHANGE = {ExchangeSegment.NSE_FNO: Exchange.NSE, ExchangeSegment.BSE_FNO: Exchange.BSE}


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

    def on(self, basis: PnlBasis) -> Decimal:
        return self.gross if basis is PnlBasis.GROSS else self.net

    def __add__(self, other: Pnl) -> Pnl:
        return Pnl(
            self.realized + other.realized, self.unrealized + other.unrealized, self.charges + other.charges
        )


NO_PNL = Pnl(ZERO, ZERO, ZERO)


def exchange_of(segment: ExchangeSegment) -> Exchange:
    return _EXCHANGE.get(segment, Exchange.NSE)


def position_pnl(
    position: TrackedPosition, ltp: Decimal | None, calculator: ChargesCalculator, day: date
) -> Pnl:
    """Today's P&L of `position` with its open quantity valued at `ltp` (ignored when None)."""
    unrealized = position.gross_pnl(ltp) if ltp is not None and position.is_open else ZERO
    orders: list[tuple[Side, Decimal]] = []
    if position.buy_value > 0:
        orders.append((Side.BUY, position.buy_value))
    if position.sell_value > 0:
        orders.append((Side.SELL, position.sell_value))
    if ltp is not None and ltp > 0 and position.is_open and position.quantity > 0:
        orders.append((Side.SELL, ltp * position.quantity))
    charges = calculator.contract_note(orders, exchange_of(position.segment), day).total if orders else ZERO
    return Pnl(to_paise_precision(position.realized_pnl), unrealized, charges)


def trail_pnl(
    position: TrackedPosition, ltp: Decimal, basis: PnlBasis, calculator: ChargesCalculator, day: date
) -> Decimal:
    """The open position's P&L the lock and the trail follow: gross (fast path) or net of charges."""
    if basis is PnlBasis.GROSS:
        return position.gross_pnl(ltp)
    return position_pnl(position, ltp, calculator, day).net - position.realized_pnl
