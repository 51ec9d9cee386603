"""The order/position state machine under random report orders: duplicates, reordering, partial
fills, trade-book snapshots. It never double-counts a fill and the position never goes short."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import OrderStatus, Side
from sarathi.orders.domain.exit_plan import sell_quantity
from sarathi.orders.domain.model import BrokerOrder, BrokerTrade
from sarathi.orders.domain.order_state import OrderState, apply_report, apply_trades, new_state
from sarathi.orders.domain.position import PositionFill, PositionState

CALL = ContractKey(ExchangeSegment.NSE_FNO, "47317")
LOT = 65


@dataclass
class TrueOrder:
    """The broker's truth about one order: its trades, in order."""

    order_id: str
    side: Side
    quantity: int
    trades: list[tuple[int, Decimal]]
    cancelled: bool = False

    @property
    def filled(self) -> int:
        return sum(q for q, _ in self.trades)

    def report(self, upto: int) -> BrokerOrder:
        """The report the broker sent after its `upto`-th trade (0: the acceptance)."""
        done = self.trades[:upto]
        filled = sum(q for q, _ in done)
        value = sum((q * p for q, p in done), start=Decimal(0))
        if self.cancelled and upto == len(self.trades):
            status = OrderStatus.CANCELLED
        elif filled == self.quantity:
            status = OrderStatus.TRADED
        else:
            status = OrderStatus.PART_TRADED if filled else OrderStatus.PENDING
        return BrokerOrder(
            broker_order_id=self.order_id,
            correlation_id="c",
            contract=CALL,
            side=self.side,
            leg=None,
            status=status,
            quantity=self.quantity,
            filled_quantity=filled,
            average_price=(value / filled) if filled else None,
            last_fill_price=done[-1][1] if done else None,
        )

    def trade_book(self) -> list[BrokerTrade]:
        return [
            BrokerTrade(self.order_id, f"{self.order_id}-{i:03d}", CALL, self.side, q, p)
            for i, (q, p) in enumerate(self.trades, start=1)
        ]


class OrderAndPositionMachine(RuleBasedStateMachine):
    """The broker trades an entry, then exits that follow the planner; reports reach us late,
    twice, or out of order, and sometimes only through the trade book."""

    def __init__(self) -> None:
        super().__init__()
        self.truth: list[TrueOrder] = []
        self.sent: list[tuple[int, int]] = []  # (order index, upto) reports the broker has sent
        self.ours: dict[str, OrderState] = {}
        self.fills: dict[str, list[tuple[int, Decimal]]] = {}

    # the broker --------------------------------------------------------------------------------

    def _broker_net(self) -> int:
        return sum(o.filled if o.side is Side.BUY else -o.filled for o in self.truth)

    def _open_sells(self) -> int:
        return sum(o.quantity - o.filled for o in self.truth if o.side is Side.SELL and not o.cancelled)

    @precondition(lambda self: not self.truth)
    @rule(lots=st.integers(1, 4))
    def place_entry(self, lots: int) -> None:
        self.truth.append(TrueOrder("E", Side.BUY, lots * LOT, []))
        self.sent.append((0, 0))

    @precondition(lambda self: bool(self.truth))
    @rule(index=st.integers(0, 10), lots=st.integers(1, 4), tick=st.integers(1, 400))
    def broker_trades(self, index: int, lots: int, tick: int) -> None:
        open_orders = [o for o in self.truth if not o.cancelled and o.filled < o.quantity]
        if not open_orders:
            return
        order = open_orders[index % len(open_orders)]
        quantity = min(lots * LOT, order.quantity - order.filled)
        order.trades.append((quantity, Decimal(tick) * Decimal("0.05") + 50))
        self.sent.append((self.truth.index(order), len(order.trades)))

    @precondition(lambda self: bool(self.truth))
    @rule()
    def exit_by_the_planner(self) -> None:
        """Our exit: sell what the planner says, from the broker's net and open sells."""
        quantity = sell_quantity(self._broker_net(), self._open_sells())
        if quantity > 0:
            self.truth.append(TrueOrder(f"X{len(self.truth)}", Side.SELL, quantity, []))
            self.sent.append((len(self.truth) - 1, 0))

    @precondition(lambda self: len(self.truth) > 0)
    @rule(index=st.integers(0, 10))
    def broker_cancels_a_remainder(self, index: int) -> None:
        order = self.truth[index % len(self.truth)]
        if not order.cancelled and order.filled < order.quantity:
            order.cancelled = True
            self.sent.append((self.truth.index(order), len(order.trades)))

    # we -----------------------------------------------------------------------------------------

    def _state(self, order: TrueOrder) -> OrderState:
        return self.ours.get(order.order_id) or new_state(order.report(0))

    def _keep(self, order: TrueOrder, state: OrderState, new: list[tuple[int, Decimal]]) -> None:
        self.ours[order.order_id] = state
        self.fills.setdefault(order.order_id, []).extend(new)

    @precondition(lambda self: bool(self.sent))
    @rule(pick=st.integers(0, 1000))
    def a_report_arrives(self, pick: int) -> None:
        """Any report ever sent, again or late: duplicates and reordering."""
        index, upto = self.sent[pick % len(self.sent)]
        order = self.truth[index]
        applied = apply_report(self._state(order), order.report(upto))
        self._keep(order, applied.state, [(f.quantity, f.price) for f in applied.fills])

    @precondition(lambda self: bool(self.truth))
    @rule(index=st.integers(0, 10))
    def the_trade_book_is_read(self, index: int) -> None:
        order = self.truth[index % len(self.truth)]
        applied = apply_trades(self._state(order), order.trade_book())
        self._keep(order, applied.state, [(f.quantity, f.price) for f in applied.fills])

    # invariants ---------------------------------------------------------------------------------

    @invariant()
    def no_fill_is_counted_twice(self) -> None:
        for order in self.truth:
            recorded = sum(q for q, _ in self.fills.get(order.order_id, []))
            state = self.ours.get(order.order_id)
            assert recorded == (state.filled if state else 0)
            assert recorded <= order.filled  # never more than the broker traded

    @invariant()
    def the_position_never_goes_short(self) -> None:
        assert self._broker_net() >= 0
        position = PositionState()
        for order in self.truth:
            for quantity, price in self.fills.get(order.order_id, []):
                position = position.after(PositionFill(order.side, quantity, price))
        ours_buys = sum(
            q for o in self.truth if o.side is Side.BUY for q, _ in self.fills.get(o.order_id, [])
        )
        assert position.net <= ours_buys

    @invariant()
    def status_never_moves_backwards_from_terminal(self) -> None:
        for order in self.truth:
            state = self.ours.get(order.order_id)
            if state is not None and order.cancelled is False and state.status is OrderStatus.CANCELLED:
                raise AssertionError("cancelled without the broker cancelling")

    def teardown(self) -> None:
        """Once every report and the trade books have arrived, our books equal the broker's."""
        for order in self.truth:
            applied = apply_trades(self._state(order), order.trade_book())
            applied = apply_report(applied.state, order.report(len(order.trades)))
            assert applied.state.filled == order.filled
        assert self._broker_net() >= 0


OrderAndPositionMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestOrderAndPositionMachine = OrderAndPositionMachine.TestCase


@given(st.lists(st.integers(1, 3), min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_any_order_of_cumulative_reports_records_each_unit_once(lots: list[int], rnd: object) -> None:
    order = TrueOrder("O", Side.BUY, sum(lots) * LOT, [(n * LOT, Decimal("100.05")) for n in lots])
    reports = [order.report(i) for i in range(len(lots) + 1)] * 2
    rnd.shuffle(reports)  # type: ignore[attr-defined]
    state = new_state(reports[0])
    recorded = 0
    for report in reports:
        applied = apply_report(state, report)
        state = applied.state
        recorded += sum(f.quantity for f in applied.fills)
    assert recorded == state.filled == order.filled
    assert state.status is OrderStatus.TRADED


def test_a_late_pending_after_cancelled_does_not_reopen_the_order() -> None:
    order = TrueOrder("O", Side.BUY, 130, [(65, Decimal(100))], cancelled=True)
    state = apply_report(new_state(order.report(0)), order.report(1)).state

    later = apply_report(state, order.report(0)).state

    assert later.status is OrderStatus.CANCELLED
    assert later.filled == 65


def test_a_socket_fill_then_the_same_trade_in_the_trade_book_is_one_fill() -> None:
    order = TrueOrder("O", Side.BUY, 65, [(65, Decimal("100.05"))])
    after_socket = apply_report(new_state(order.report(0)), order.report(1))

    after_book = apply_trades(after_socket.state, order.trade_book())

    assert [f.quantity for f in after_socket.fills] == [65]
    assert after_book.fills == ()
    assert after_socket.fills[0].price == Decimal("100.05")


def test_a_fill_price_is_recovered_from_the_average_of_two_trades() -> None:
    order = TrueOrder("O", Side.BUY, 130, [(65, Decimal("100.05")), (65, Decimal("100.10"))])
    first = apply_report(new_state(order.report(0)), order.report(1))

    second = apply_report(first.state, order.report(2))

    assert [f.price for f in second.fills] == [Decimal("100.10")]
