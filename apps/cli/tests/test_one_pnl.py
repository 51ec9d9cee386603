"""One P&L: the same fills through risk's daily P&L and through the day's report, to the paisa.

Risk learns of fills from `orders`' position events (net quantity, average, the contract's realized
P&L, the fill); the report reads the fill records. A trade here has what made the two disagree
(issue 15, item 3): an entry filled in two parts, a pyramid, a super-order target leg that sells
part of the position and an exit order that sells the rest: four executed orders, each ₹20 of
brokerage (risk counted two a trade: one per side), and a pyramid whose average cost is not a
whole number of paise (risk derived turnover from that average).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sarathi.cli.books import Books, ContractRecord, FillRecord, OrderRecord
from sarathi.cli.report import RunInfo, build_report
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange, ExchangeSegment, SecurityId, Underlying
from sarathi.common.domain.trading import Side
from sarathi.common.messages.base import envelope
from sarathi.common.messages.orders import PositionChanged, PositionClosed, PositionFill, PositionOpened
from sarathi.orders.domain.position import (
    PositionChange,
    PositionState,
    change_between,
)
from sarathi.orders.domain.position import (
    PositionFill as BookFill,
)
from sarathi.risk.book import PositionBook
from sarathi.risk.domain.daily import day_pnl

DAY = date(2026, 9, 16)
OPEN = datetime(2026, 9, 16, 9, 15, tzinfo=IST)
CALL = ContractRecord("106290968", "NIFTY", date(2026, 9, 22), Decimal(24200), "CE", 65, "NIFTY-CE")
CALC = ChargesCalculator()

# (our order key, side, quantity, price, minutes after the open): one trade, four orders
FILLS = (
    ("N1-E0", "BUY", 65, "100.00", 10),
    ("N1-E0", "BUY", 65, "100.05", 10.5),  # the same entry order, a second partial fill
    ("N2-E0", "BUY", 65, "105.35", 20),  # a pyramid: average cost 101.8 repeating
    ("N1-E0/TARGET", "SELL", 130, "118.45", 35),
    ("xTR-N1-E0", "SELL", 65, "112.10", 41),
)


def at(minutes: float) -> datetime:
    return OPEN + timedelta(minutes=minutes)


def the_books() -> Books:
    orders, fills, cumulative = {}, [], {}
    for key, side, quantity, price, minutes in FILLS:
        cumulative[key] = cumulative.get(key, 0) + quantity
        leg = "TARGET_LEG" if key.endswith("/TARGET") else ("EXIT" if key.startswith("x") else "ENTRY_LEG")
        orders[key] = OrderRecord(
            key, f"b-{key}", key.split("/")[0], CALL.security_id, side, "MARKET", cumulative[key], "TRADED",
            leg, cumulative[key], None, None, at(0),
        )  # fmt: skip
        fills.append(
            FillRecord(key, f"b-{key}", f"t{len(fills)}", CALL.security_id, side, quantity, Decimal(price),
                       at(minutes))
        )  # fmt: skip
    return Books(tuple(orders.values()), tuple(fills), (), (), (), {CALL.security_id: CALL})


def position_events() -> list[PositionOpened | PositionChanged | PositionClosed]:
    """What `orders` publishes for these fills: its own position arithmetic, one event per fill."""
    events: list[PositionOpened | PositionChanged | PositionClosed] = []
    state, cumulative = PositionState(), {}
    for key, side, quantity, price, minutes in FILLS:
        cumulative[key] = cumulative.get(key, 0) + quantity
        after = state.after(BookFill(Side(side), quantity, Decimal(price)))
        change = change_between(state, after)
        assert change is not None
        fields = {
            **envelope(
                message_id=f"pos-b-{key}-{cumulative[key]}".replace("/", "-"),
                correlation_id="N1",
                causation_id=key.split("/")[0],
                event_time=at(minutes),
            ),
            "security_id": SecurityId(CALL.security_id),
            "segment": ExchangeSegment.NSE_FNO,
            "underlying": Underlying.NIFTY,
            "net_quantity": after.net,
            "average_price": after.average_price,
            "realized_pnl": after.realized_rupees,
            "fill": PositionFill(
                order_key=key,
                side=Side(side),
                quantity=quantity,
                price=Decimal(price),
                cumulative_quantity=cumulative[key],
            ),
        }
        kinds = {
            PositionChange.OPENED: PositionOpened,
            PositionChange.CHANGED: PositionChanged,
            PositionChange.CLOSED: PositionClosed,
        }
        events.append(kinds[change](**fields))
        state = after
    return events


def test_risks_daily_pnl_and_the_report_count_the_same_fills_to_the_paisa() -> None:
    book = PositionBook()
    for event in position_events():
        book.apply(event)
    risk = day_pnl(book.all(), {}, CALC, DAY).pnl
    report = build_report(the_books(), {}, RunInfo(DAY, 7, Decimal(100), 1.0, 1.0))

    orders = [
        (Side.BUY, Decimal("13003.25")),  # N1-E0: 65 × 100.00 + 65 × 100.05
        (Side.BUY, Decimal("6847.75")),  # N2-E0
        (Side.SELL, Decimal("15398.50")),  # the target leg
        (Side.SELL, Decimal("7286.50")),  # the exit order
    ]
    charges = CALC.contract_note(orders, Exchange.NSE, DAY)
    assert charges.brokerage == Decimal(80)
    assert report.gross == risk.gross == Decimal("2834.00")
    assert report.charges == risk.charges == charges.total
    assert report.net == risk.net


def test_an_event_redelivered_late_and_an_open_position_still_agree() -> None:
    events = position_events()[:4]  # the target leg sold 130; 65 still held
    book = PositionBook()
    for event in [*events, events[2]]:
        book.apply(event)
    (position,) = book.all()
    assert position.quantity == 65  # the pyramid's event, redelivered late, rewinds nothing
    risk = day_pnl(book.all(), {}, CALC, DAY).pnl
    books = the_books()
    report = build_report(replace(books, fills=books.fills[:4]), {}, RunInfo(DAY, 7, Decimal(100), 1.0, 1.0))
    assert report.trades[0].exit_at is None  # still open: neither side marks it to a price
    assert report.gross == risk.gross == risk.realized
    assert report.charges == risk.charges
    assert report.net == risk.net
