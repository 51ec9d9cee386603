"""The exit planner: cancel what rests, then sell exactly the broker's net, never more, never twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import CommandKind
from sarathi.orders.domain.exit_plan import (
    Cancel,
    CancelStep,
    Sell,
    Wait,
    plan_exit,
    sell_quantity,
    sell_slices,
)
from sarathi.orders.domain.model import BrokerLeg, BrokerOrder, BrokerSuperOrder

CALL = ContractKey(ExchangeSegment.NSE_FNO, "47317")


def a_super_order(
    status: OrderStatus = OrderStatus.TRADED,
    *,
    stop: OrderStatus = OrderStatus.PENDING,
    target: OrderStatus = OrderStatus.PENDING,
    filled: int = 65,
) -> BrokerSuperOrder:
    return BrokerSuperOrder(
        broker_order_id="59001",
        correlation_id="sub-1",
        contract=CALL,
        status=status,
        quantity=65,
        filled_quantity=filled,
        legs=(BrokerLeg(Leg.STOP_LOSS, stop, 65, 0), BrokerLeg(Leg.TARGET, target, 65, 0)),
    )


def an_order(
    side: Side, status: OrderStatus, quantity: int = 65, filled: int = 0, leg: Leg | None = None
) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=f"11{side.value}{leg}",
        correlation_id="x",
        contract=CALL,
        side=side,
        leg=leg,
        status=status,
        quantity=quantity,
        filled_quantity=filled,
    )


def test_resting_legs_of_a_filled_entry_are_cancelled_before_anything_is_sold() -> None:
    decision = plan_exit(65, [a_super_order()], [])

    assert decision == Cancel((CancelStep("59001", Leg.STOP_LOSS), CancelStep("59001", Leg.TARGET)))


def test_an_open_entry_is_cancelled_whole_with_its_legs() -> None:
    decision = plan_exit(0, [a_super_order(OrderStatus.PENDING, filled=0)], [])

    assert decision == Cancel((CancelStep("59001", Leg.ENTRY),))


def test_an_entry_still_in_transit_makes_the_exit_wait() -> None:
    assert isinstance(plan_exit(0, [a_super_order(OrderStatus.TRANSIT, filled=0)], []), Wait)


def test_with_nothing_resting_the_exit_sells_the_broker_net_quantity() -> None:
    so = a_super_order(stop=OrderStatus.CANCELLED, target=OrderStatus.CANCELLED)

    assert plan_exit(130, [so], []) == Sell(130)


def test_a_stop_loss_that_already_fired_leaves_nothing_to_sell() -> None:
    so = a_super_order(OrderStatus.CLOSED, stop=OrderStatus.TRIGGERED, target=OrderStatus.CANCELLED)

    assert plan_exit(0, [so], []) == Sell(0)


def test_a_fired_leg_still_working_at_the_exchange_is_not_sold_again() -> None:
    so = a_super_order(OrderStatus.CLOSED, stop=OrderStatus.TRIGGERED, target=OrderStatus.CANCELLED)
    working = an_order(Side.SELL, OrderStatus.PENDING, quantity=65, filled=20, leg=Leg.STOP_LOSS)

    assert plan_exit(45, [so], [working]) == Sell(0)


def test_an_earlier_exit_sell_still_open_is_subtracted() -> None:
    earlier = an_order(Side.SELL, OrderStatus.PART_TRADED, quantity=130, filled=65)

    assert plan_exit(130, [], [earlier]) == Sell(65)


def test_open_plain_buy_orders_are_cancelled() -> None:
    buy = an_order(Side.BUY, OrderStatus.PENDING)

    assert plan_exit(0, [], [buy]) == Cancel((CancelStep(buy.broker_order_id, None),))


def test_a_short_broker_position_is_never_bought_back_or_sold() -> None:
    assert plan_exit(-65, [], []) == Sell(0)


@given(net=st.integers(-1000, 1000), pending=st.integers(-1000, 1000))
def test_the_sell_quantity_is_never_negative_nor_more_than_held(net: int, pending: int) -> None:
    quantity = sell_quantity(net, pending)

    assert quantity >= 0
    assert quantity <= max(net, 0)


@pytest.mark.parametrize("net", [0, 65, 130])
def test_cancelled_legs_and_no_orders_sell_exactly_the_net(net: int) -> None:
    so = a_super_order(stop=OrderStatus.CANCELLED, target=OrderStatus.CANCELLED)

    assert plan_exit(net, [so], []) == Sell(net)


@pytest.mark.parametrize(
    ("quantity", "lot", "freeze", "slices"),
    [
        (3575, 65, 1756, [1755, 1755, 65]),  # NIFTY: 1756 is frozen, 1755 = 27 lots is the largest
        (1755, 65, 1756, [1755]),
        (1756 - 1756 % 65 + 65, 65, 1756, [1755, 65]),  # 28 lots
        (1200, 30, 600, [570, 570, 60]),  # BANKNIFTY
        (65, 65, 50, [65]),  # a freeze below one lot: nothing smaller can be sent
        (0, 65, 1756, []),
    ],
)
def test_a_sell_is_sliced_into_whole_lots_each_below_the_freeze_quantity(
    quantity: int, lot: int, freeze: int, slices: list[int]
) -> None:
    assert sell_slices(quantity, lot, freeze) == slices


@given(lots=st.integers(1, 400), lot=st.sampled_from([20, 30, 65, 75]), freeze=st.integers(100, 2000))
def test_slices_add_up_to_the_sell_and_each_is_below_the_freeze(lots: int, lot: int, freeze: int) -> None:
    parts = sell_slices(lots * lot, lot, freeze)

    assert sum(parts) == lots * lot
    assert all(part % lot == 0 and part > 0 for part in parts)
    assert all(part < freeze for part in parts) or freeze <= lot


def test_slice_command_ids_keep_the_scheme_of_the_exit_they_belong_to() -> None:
    kill = ids.derived_command_id("K", "kill-1", "NSE_FNO", "47317")
    for parent, scheme in ((kill, CommandKind.KILL), ("xTR-5926091512345", CommandKind.EXIT)):
        first, second = ids.slice_command_id(parent, 1), ids.slice_command_id(parent, 2)
        assert ids.scheme_of(first) is scheme
        assert ids.is_command_id(first)
        assert first != second != parent
