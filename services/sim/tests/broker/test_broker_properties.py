"""Property tests: random sessions of ticks, super orders, manual trades, cancels, modifies and
exits never make the broker's own legs go short, never fill a leg twice, and keep P&L exact."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from sarathi.sim.broker.models import BrokerError, LegName, Product, Side
from sarathi.sim.broker.port import BrokerActivity
from sarathi.sim.broker.positions import Position

TICK = Decimal("0.05")


def test_random_sessions_never_go_short_nor_fill_a_leg_twice(build: Any) -> None:
    class Session(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.kit = build.kit()
            self.ltp = Decimal(100)
            self.supers: list[str] = []

        def _pending_sells(self) -> int:
            return sum(
                o["remainingQuantity"]
                for o in self.kit.broker.order_book()
                if o["transactionType"] == "SELL"
                and o["legName"] == "NA"
                and o["orderStatus"] in ("TRANSIT", "PENDING")
            )

        @rule(move=st.integers(min_value=-80, max_value=80), spread=st.integers(min_value=1, max_value=4))
        def tick(self, move: int, spread: int) -> None:
            self.ltp = max(Decimal(5), self.ltp + move * TICK)
            half = spread * TICK
            self.kit.tick(str(self.ltp), bid=str(self.ltp - half), ask=str(self.ltp + half))

        @rule(
            lots=st.integers(min_value=1, max_value=3),
            entry_ticks=st.integers(min_value=-20, max_value=20),
            target_ticks=st.integers(min_value=1, max_value=60),
            stop_ticks=st.integers(min_value=1, max_value=200),
            jump_ticks=st.integers(min_value=0, max_value=40),
        )
        def place_super_order(
            self, lots: int, entry_ticks: int, target_ticks: int, stop_ticks: int, jump_ticks: int
        ) -> None:
            price = self.ltp + entry_ticks * TICK
            stop = price - stop_ticks * TICK
            if stop <= 0:
                return
            order_id = self.kit.super_buy(
                price=str(price),
                target=str(price + target_ticks * TICK),
                stop=str(stop),
                jump=str(jump_ticks * TICK),
                quantity=65 * lots,
            )
            self.supers.append(order_id)

        @rule(lots=st.integers(min_value=1, max_value=2))
        def buy_by_hand(self, lots: int) -> None:
            self.kit.buy(quantity=65 * lots)

        @rule()
        def sell_by_hand(self) -> None:
            if self.kit.net_qty() - self._pending_sells() >= 65:
                self.kit.sell(quantity=65)

        @precondition(lambda self: self.supers)
        @rule(index=st.integers(min_value=0), leg=st.sampled_from(list(LegName)))
        def cancel_leg(self, index: int, leg: LegName) -> None:
            with contextlib.suppress(BrokerError):
                self.kit.broker.cancel_super_order(self.supers[index % len(self.supers)], leg)

        @precondition(lambda self: self.supers)
        @rule(index=st.integers(min_value=0), stop_ticks=st.integers(min_value=1, max_value=100))
        def move_stop(self, index: int, stop_ticks: int) -> None:
            with contextlib.suppress(BrokerError):
                self.kit.modify_leg(
                    self.supers[index % len(self.supers)],
                    leg=LegName.STOP_LOSS_LEG,
                    stop_loss_price=max(TICK, self.ltp - stop_ticks * TICK),
                    trailing_jump=TICK * 4,
                )

        @rule()
        def exit_all(self) -> None:
            self.kit.broker.exit_all()

        @invariant()
        def never_short(self) -> None:
            assert self.kit.net_qty() >= 0

        @invariant()
        def each_leg_fills_at_most_once_and_within_the_entry(self) -> None:
            book = self.kit.broker.order_book()
            trades = self.kit.broker.trade_book()
            for order in book:
                assert order["filledQty"] <= order["quantity"]
                if order["legName"] in ("TARGET_LEG", "STOP_LOSS_LEG"):
                    assert sum(t["orderId"] == order["orderId"] for t in trades) <= 1
            for parent in self.kit.broker.super_order_list():
                fired = [leg for leg in parent["legDetails"] if leg["triggeredQuantity"] > 0]
                assert len(fired) <= 1
                assert sum(leg["triggeredQuantity"] for leg in fired) <= parent["filledQty"]

        @invariant()
        def activity_counts_what_the_books_show(self) -> None:
            open_states = ("TRANSIT", "PENDING", "PART_TRADED")
            broker = self.kit.broker
            waiting_legs = sum(
                leg["orderStatus"] == "PENDING"
                for parent in broker.super_order_list()
                if parent["orderStatus"] in open_states and parent["filledQty"] == 0
                for leg in parent["legDetails"]
            )
            working = sum(o["orderStatus"] in open_states for o in broker.order_book()) + waiting_legs
            open_positions = sum(p["netQty"] != 0 for p in broker.positions())
            assert broker.activity() == BrokerActivity(working, open_positions)

        @invariant()
        def pnl_is_cash_plus_mark(self) -> None:
            for p in self.kit.broker.positions():
                cash = p["daySellValue"] - p["dayBuyValue"]
                mark = p["netQty"] * float(self.kit.market.quote(build.nifty_call(), None).ltp)
                assert p["realizedProfit"] + p["unrealizedProfit"] == pytest.approx(cash + mark, abs=1e-6)

    run_state_machine_as_test(
        Session,
        settings=settings(
            max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )


def _fills() -> st.SearchStrategy[list[tuple[bool, int, Decimal]]]:
    prices = st.integers(min_value=1, max_value=4000).map(lambda n: n * TICK)
    return st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=10), prices), max_size=30)


@given(fills=_fills(), ltp=st.integers(min_value=1, max_value=4000).map(lambda n: n * TICK))
def test_realized_plus_unrealized_equals_cash_plus_mark_exactly(
    build: Any, fills: list[tuple[bool, int, Decimal]], ltp: Decimal
) -> None:
    position = Position(build.nifty_call(), Product.INTRADAY)
    for is_buy, lots, price in fills:
        position.apply(Side.BUY if is_buy else Side.SELL, lots * 65, price)
    cash = position.sell_value - position.buy_value
    assert position.realized + position.unrealized(ltp) == cash + position.net_qty * ltp
