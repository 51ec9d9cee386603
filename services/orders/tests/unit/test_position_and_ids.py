"""Positions from fills (average cost, realized P&L) and the identifier rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sarathi.common.domain.trading import Leg, Side
from sarathi.orders.domain import ids
from sarathi.orders.domain.position import (
    PositionChange,
    PositionFill,
    PositionState,
    change_between,
    position_of,
)


def test_average_cost_and_realized_pnl_follow_buys_and_sells() -> None:
    state = position_of(
        [
            PositionFill(Side.BUY, 65, Decimal("100.05")),
            PositionFill(Side.BUY, 65, Decimal("100.10")),
            PositionFill(Side.SELL, 65, Decimal("110")),
        ]
    )

    assert state.net == 65
    assert state.average_price == Decimal("100.0750")
    assert state.realized == Decimal("645.125")  # (110 − 100.075) × 65
    assert state.realized_rupees == Decimal("645.12")  # banker's rounding to the paisa


def test_closing_everything_releases_the_whole_cost() -> None:
    state = position_of(
        [PositionFill(Side.BUY, 65, Decimal("100")), PositionFill(Side.SELL, 65, Decimal("90"))]
    )

    assert state.net == 0
    assert state.cost == 0
    assert state.realized == Decimal(-650)


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (0, 65, PositionChange.OPENED),
        (65, 130, PositionChange.CHANGED),
        (130, 0, PositionChange.CLOSED),
        (65, 65, None),
        (0, -65, None),
    ],
)
def test_which_position_event_a_fill_causes(before: int, after: int, change: PositionChange | None) -> None:
    assert change_between(PositionState(before), PositionState(after)) is change


def test_command_ids_fit_dhans_correlation_id() -> None:
    assert ids.is_command_id("sub-0001_ABC")
    assert not ids.is_command_id("x" * 26)
    assert not ids.is_command_id("has space")
    assert ids.is_command_id(ids.derived_command_id("K", "kill-1", "NSE_FNO", "47317"))


def test_leg_rows_are_keyed_apart_from_their_entry() -> None:
    assert ids.order_key("sub-1", None) == ids.order_key("sub-1", Leg.ENTRY) == "sub-1"
    assert ids.order_key("sub-1", Leg.STOP_LOSS) == "sub-1/STOP_LOSS"
