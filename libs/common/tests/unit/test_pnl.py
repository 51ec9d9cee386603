"""`trade_pnl`: a trade's P&L and charges from its fills, the one function risk and the report use."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.pnl import TradeFill, realized_pnl, trade_pnl
from sarathi.common.domain.trading import Side

DAY = date(2026, 9, 16)
CALC = ChargesCalculator()
TICK = Decimal("0.05")


def a_fill(order: str, side: Side, quantity: int, price: str) -> TradeFill:
    return TradeFill(order, side, quantity, Decimal(price))


def test_a_closed_trade_is_its_premium_sold_less_bought_less_one_contract_note() -> None:
    fills = [a_fill("E", Side.BUY, 65, "100"), a_fill("X", Side.SELL, 65, "120")]
    pnl = trade_pnl(fills, Exchange.NSE, DAY, CALC)
    note = CALC.round_trip(Decimal(100), Decimal(120), 65, Exchange.NSE, DAY)
    assert (pnl.realized, pnl.unrealized, pnl.gross) == (Decimal(1300), 0, Decimal(1300))
    assert pnl.charges == note.charges.total == Decimal("65.11")
    assert pnl.net == note.net_pnl


def test_brokerage_is_per_executed_order_partial_fills_of_one_order_counting_once() -> None:
    one_order = [a_fill("E", Side.BUY, 65, "100"), a_fill("E", Side.BUY, 65, "100")]
    two_orders = [a_fill("E", Side.BUY, 65, "100"), a_fill("P", Side.BUY, 65, "100")]
    sell = [a_fill("X", Side.SELL, 130, "100")]
    split = trade_pnl([*one_order, *sell], Exchange.NSE, DAY, CALC)
    pyramid = trade_pnl([*two_orders, *sell], Exchange.NSE, DAY, CALC)
    assert pyramid.charges - split.charges == Decimal("23.60")  # ₹20 and 18 % GST on it


def test_an_open_trade_marked_at_a_price_is_charged_as_if_sold_there() -> None:
    fills = [a_fill("E", Side.BUY, 130, "100"), a_fill("T", Side.SELL, 65, "110")]
    unmarked = trade_pnl(fills, Exchange.NSE, DAY, CALC)
    marked = trade_pnl(fills, Exchange.NSE, DAY, CALC, mark=Decimal(90))
    assert unmarked.realized == marked.realized == Decimal(650)
    assert (unmarked.unrealized, marked.unrealized) == (0, Decimal(-650))
    whole = CALC.contract_note(
        [(Side.BUY, Decimal(13000)), (Side.SELL, Decimal(7150)), (Side.SELL, Decimal(5850))],
        Exchange.NSE,
        DAY,
    )
    assert marked.charges == whole.total


fills_strategy = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(1, 400), st.integers(1, 6000)), min_size=1, max_size=6
)


@given(buys=fills_strategy, sells=fills_strategy, mark_ticks=st.integers(1, 6000))
def test_realized_plus_unrealized_is_the_exact_gross_whatever_the_order_of_fills(
    buys: list[tuple[str, int, int]], sells: list[tuple[str, int, int]], mark_ticks: int
) -> None:
    bought = [TradeFill(f"b{o}", Side.BUY, q, p * TICK) for o, q, p in buys]
    room = sum(f.quantity for f in bought)
    sold: list[TradeFill] = []
    for order, wanted, ticks in sells:  # never sell more than was bought
        quantity = min(wanted, room - sum(f.quantity for f in sold))
        if quantity > 0:
            sold.append(TradeFill(f"s{order}", Side.SELL, quantity, ticks * TICK))
    mark = mark_ticks * TICK
    held = room - sum(f.quantity for f in sold)
    pnl = trade_pnl([*bought, *sold], Exchange.NSE, DAY, CALC, mark)
    backwards = trade_pnl([*reversed(sold), *reversed(bought)], Exchange.NSE, DAY, CALC, mark)
    gross = (
        sum((f.value for f in sold), Decimal(0)) + mark * held - sum((f.value for f in bought), Decimal(0))
    )
    assert pnl.gross == gross
    assert pnl == backwards
    assert pnl.realized == realized_pnl([*bought, *sold])
    assert pnl.realized == pnl.realized.quantize(Decimal("0.01"))


def test_a_float_price_is_refused() -> None:
    with pytest.raises(ValueError, match="Decimal"):
        TradeFill("E", Side.BUY, 65, 100.0)  # type: ignore[arg-type]
