"""Our correlation-id schemes (what orders adopts as its own) and the plan that closes a duplicate
entry: its own legs cancelled, exactly its units sold, never short."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.domain import ids
from sarathi.orders.domain.commands import CommandKind
from sarathi.orders.domain.exit_plan import Cancel, CancelStep, Sell, Wait, plan_duplicate_exit
from sarathi.orders.domain.model import BrokerLeg, BrokerSuperOrder

from .test_exit_plan import CALL, an_order


def a_super(
    order_id: str,
    *,
    status: OrderStatus = OrderStatus.TRADED,
    filled: int = 65,
    legs: OrderStatus = OrderStatus.PENDING,
    triggered: int = 0,
) -> BrokerSuperOrder:
    return BrokerSuperOrder(
        broker_order_id=order_id,
        correlation_id="N2609151020ABCDE-E0",
        contract=CALL,
        status=status,
        quantity=65,
        filled_quantity=filled,
        legs=(BrokerLeg(Leg.STOP_LOSS, legs, 65, triggered), BrokerLeg(Leg.TARGET, legs, 65, 0)),
    )


@pytest.mark.parametrize(
    ("command_id", "underlying"),
    [  # execution's `entry_command_id` (the incident's id among them)
        ("N2609161420KNZ2T-E0", Underlying.NIFTY),
        ("B2609151020ABCDE-E1", Underlying.BANKNIFTY),
        ("S2609151020Z2345-E2", Underlying.SENSEX),
    ],
)
def test_executions_entry_ids_are_ours_and_name_their_underlying(
    command_id: str, underlying: Underlying
) -> None:
    assert ids.scheme_of(command_id) is CommandKind.SUBMIT
    assert ids.underlying_of_entry(command_id) is underlying


@pytest.mark.parametrize(
    "command_id",
    # risk's `exit_command_id`: `x<code>-<entry id>`, or shortened with 8 hex of its hash
    ["xTR-N2609161420KNZ2T-E0", "xSQ-N2609161420KNZ2T-E0", "xKL-sub-0001-31770c1f2e9a", "xDU-5926091500004"],
)
def test_risks_exit_ids_and_the_duplicate_close_are_ours(command_id: str) -> None:
    assert ids.scheme_of(command_id) is CommandKind.EXIT


def test_kill_ids_are_ours_and_orders_placed_elsewhere_are_not() -> None:
    assert ids.scheme_of(ids.derived_command_id("K", "kill-1", "NSE_FNO", "47317")) is CommandKind.KILL
    for foreign in ("", "web-order-1", "sub-0001-317", "N2609161420KNZ2T-E9", "external"):
        assert ids.scheme_of(foreign) is None


def test_a_duplicate_close_has_one_command_id_per_duplicate_that_dhan_accepts() -> None:
    assert ids.duplicate_exit_command_id("5926091500004") == "xDU-5926091500004"
    long_id = ids.duplicate_exit_command_id("9" * 40)
    assert ids.is_command_id(long_id)
    assert long_id == ids.duplicate_exit_command_id("9" * 40)


def test_an_open_duplicate_entry_is_cancelled_whole() -> None:
    duplicate = a_super("59002", status=OrderStatus.PENDING, filled=0)
    decision = plan_duplicate_exit(duplicate, [a_super("59001")], 65, [])
    assert decision == Cancel((CancelStep("59002", Leg.ENTRY),))


def test_only_the_duplicates_own_resting_legs_are_cancelled() -> None:
    decision = plan_duplicate_exit(a_super("59002"), [a_super("59001")], 130, [])
    assert decision == Cancel((CancelStep("59002", Leg.STOP_LOSS), CancelStep("59002", Leg.TARGET)))


def test_the_duplicate_sells_exactly_its_units_beside_the_original_with_resting_legs() -> None:
    duplicate = a_super("59002", legs=OrderStatus.CANCELLED)
    original_legs = [an_order(Side.SELL, OrderStatus.PENDING, leg=leg) for leg in (Leg.TARGET, Leg.STOP_LOSS)]
    assert plan_duplicate_exit(duplicate, [a_super("59001")], 130, original_legs) == Sell(65)


def test_a_duplicate_whose_stop_already_sold_sells_nothing() -> None:
    duplicate = a_super("59002", legs=OrderStatus.CANCELLED, triggered=65)
    assert plan_duplicate_exit(duplicate, [a_super("59001")], 65, []) == Sell(0)


def test_a_duplicate_not_listed_or_in_transit_is_waited_for() -> None:
    assert isinstance(plan_duplicate_exit(None, [], 65, []), Wait)
    assert isinstance(plan_duplicate_exit(a_super("59002", status=OrderStatus.TRANSIT), [], 65, []), Wait)


@given(
    net=st.integers(0, 400),
    filled=st.integers(0, 130),
    triggered=st.integers(0, 130),
    others_filled=st.integers(0, 130),
    exit_sell=st.integers(0, 130),
)
def test_a_duplicate_close_never_sells_below_what_others_may_still_sell(
    net: int, filled: int, triggered: int, others_filled: int, exit_sell: int
) -> None:
    """Whatever the broker shows, the sell is ≥ 0, ≤ the duplicate's own units, and leaves at
    least what the other super orders' resting legs and open exit sells may still sell."""
    duplicate = a_super("59002", legs=OrderStatus.CANCELLED, filled=filled, triggered=min(triggered, filled))
    other = a_super("59001", filled=others_filled)
    exit_order = an_order(Side.SELL, OrderStatus.PENDING, quantity=max(exit_sell, 1), filled=0)
    decision = plan_duplicate_exit(duplicate, [other], net, [exit_order] if exit_sell else [])
    assert isinstance(decision, Sell)
    assert 0 <= decision.quantity <= filled - min(triggered, filled)
    assert decision.quantity == 0 or net - decision.quantity >= others_filled + exit_sell
