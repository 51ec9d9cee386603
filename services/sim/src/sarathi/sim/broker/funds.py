"""The account's funds (`GET /fundlimit`, REFERENCE §4.5) and the RMS balance check.

A simple model (Dhan's own margin arithmetic is not reproduced): money in use is the cost of
open long positions plus the value of accepted, unfilled buy orders (super-order exit legs
excluded); booked P&L is added to the start-of-day limit, charges are not deducted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sarathi.sim.broker.models import ZERO, LegName, OrderStatus, Side

if TYPE_CHECKING:
    from sarathi.sim.broker.book import Book


def utilized(book: Book) -> Decimal:
    in_positions = sum((p.open_value for p in book.positions if p.net_qty > 0), start=ZERO)
    blocked = sum(
        (
            o.price * o.remaining
            for o in book.orders.values()
            if o.side is Side.BUY
            and o.status in (OrderStatus.PENDING, OrderStatus.PART_TRADED)
            and o.leg in (None, LegName.ENTRY_LEG)
        ),
        start=ZERO,
    )
    return in_positions + blocked


def realized(book: Book) -> Decimal:
    return sum((p.realized for p in book.positions), start=ZERO)


def available_balance(book: Book) -> Decimal:
    return book.config.sod_limit + realized(book) - utilized(book)


def fund_limit_json(book: Book) -> dict[str, Any]:
    """`/fundlimit` with Dhan's live spelling `availabelBalance` (REFERENCE §4.5)."""
    available = available_balance(book)
    return {
        "dhanClientId": book.config.client_id,
        "availabelBalance": float(available),
        "sodLimit": float(book.config.sod_limit),
        "collateralAmount": 0.0,
        "receiveableAmount": 0.0,
        "utilizedAmount": float(utilized(book)),
        "blockedPayoutAmount": 0.0,
        "withdrawableBalance": float(max(available, ZERO)),
    }
