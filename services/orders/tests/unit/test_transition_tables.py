"""The command and order state machines: every listed move is accepted, every other is refused
with an error naming it, and the order machine's report handling only ever takes listed moves."""

from __future__ import annotations

from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.orders.domain import commands
from sarathi.orders.domain.commands import TRANSITIONS, CommandStatus, IllegalTransitionError
from sarathi.orders.domain.model import BrokerOrder
from sarathi.orders.domain.order_state import (
    ORDER_TRANSITIONS,
    TERMINAL_STATUSES,
    IllegalOrderTransitionError,
    OrderState,
    apply_report,
    transition,
)

CALL = ContractKey(ExchangeSegment.NSE_FNO, "47317")
LEGAL_COMMAND_MOVES = [(a, b) for a, b in product(CommandStatus, CommandStatus) if b in TRANSITIONS[a]]
ILLEGAL_COMMAND_MOVES = [(a, b) for a, b in product(CommandStatus, CommandStatus) if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "to"), LEGAL_COMMAND_MOVES)
def test_every_listed_command_move_is_accepted(current: CommandStatus, to: CommandStatus) -> None:
    assert commands.check("sub-1", current, to) is to
    assert current in commands.sources(to)


@pytest.mark.parametrize(("current", "to"), ILLEGAL_COMMAND_MOVES)
def test_every_other_command_move_is_refused_naming_the_command_and_the_move(
    current: CommandStatus, to: CommandStatus
) -> None:
    with pytest.raises(IllegalTransitionError, match=f"command sub-1: {current} → {to} is not allowed"):
        commands.check("sub-1", current, to)
    assert current not in commands.sources(to)


def test_a_rejected_or_failed_command_never_moves_and_a_placed_one_only_stays_placed() -> None:
    assert TRANSITIONS[CommandStatus.REJECTED] == frozenset()
    assert TRANSITIONS[CommandStatus.FAILED] == frozenset()
    assert TRANSITIONS[CommandStatus.PLACED] == {CommandStatus.PLACED}
    assert {CommandStatus.SENDING, CommandStatus.UNKNOWN} <= commands.sources(CommandStatus.PLACED)
    assert len(ILLEGAL_COMMAND_MOVES) > 0


LEGAL_ORDER_MOVES = [
    (a, b) for a, b in product(OrderStatus, OrderStatus) if b is a or b in ORDER_TRANSITIONS[a]
]
ILLEGAL_ORDER_MOVES = [
    (a, b) for a, b in product(OrderStatus, OrderStatus) if b is not a and b not in ORDER_TRANSITIONS[a]
]


@pytest.mark.parametrize(("current", "to"), LEGAL_ORDER_MOVES)
def test_every_listed_order_move_is_accepted(current: OrderStatus, to: OrderStatus) -> None:
    assert transition(current, to) is to


@pytest.mark.parametrize(("current", "to"), ILLEGAL_ORDER_MOVES)
def test_every_other_order_move_is_refused_naming_it(current: OrderStatus, to: OrderStatus) -> None:
    with pytest.raises(IllegalOrderTransitionError, match=f"{current} → {to} is not allowed"):
        transition(current, to)


def test_a_terminal_order_status_never_moves_and_nothing_moves_back_to_transit() -> None:
    for status in TERMINAL_STATUSES:
        assert ORDER_TRANSITIONS[status] == frozenset()
    assert all(OrderStatus.TRANSIT not in targets for targets in ORDER_TRANSITIONS.values())


def a_report(status: OrderStatus | None, filled: int, quantity: int = 130) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id="B1", correlation_id="sub-1", contract=CALL, side=Side.BUY, leg=Leg.ENTRY,
        status=status, quantity=quantity, filled_quantity=filled,
    )  # fmt: skip


@given(
    st.lists(
        st.tuples(st.none() | st.sampled_from(OrderStatus), st.integers(min_value=0, max_value=130)),
        max_size=12,
    )
)
def test_reports_in_any_order_only_ever_take_listed_order_moves(
    reports: list[tuple[OrderStatus | None, int]],
) -> None:
    state = OrderState(status=OrderStatus.TRANSIT, quantity=130)
    for status, filled in reports:
        before = state.status
        state = apply_report(state, a_report(status, filled)).state  # raises on an unlisted move
        assert state.status is before or state.status in ORDER_TRANSITIONS[before]
