"""P&L of a position, gross and net of charges: `sarathi.common.domain.pnl.trade_pnl` on its fills.

The one function the day's report uses too, so risk's daily P&L (the loss limit, `/pnl`,
`/positions`, the `sarathi_risk_*_pnl_inr` gauges) and the report agree to the paisa. What is
still open is valued at `ltp` and charged as one more sell order at it (what exiting now costs).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.pnl import NO_PNL, Pnl, exchange_of, trade_pnl
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.domain.rules import PnlBasis

__all__ = ["NO_PNL", "Pnl", "position_pnl", "trail_pnl"]


def position_pnl(
    position: TrackedPosition, ltp: Decimal | None, calculator: ChargesCalculator, day: date
) -> Pnl:
    """Today's P&L of `position` with its open quantity valued at `ltp` (ignored when None)."""
    mark = ltp if position.is_open else None
    return trade_pnl(position.trade_fills, exchange_of(position.segment), day, calculator, mark)


def trail_pnl(
    position: TrackedPosition, ltp: Decimal, basis: PnlBasis, calculator: ChargesCalculator, day: date
) -> Decimal:
    """The open position's P&L the lock and the trail follow: gross (fast path) or net of charges."""
    if basis is PnlBasis.GROSS:
        return position.gross_pnl(ltp)
    pnl = position_pnl(position, ltp, calculator, day)
    return pnl.net - pnl.realized
