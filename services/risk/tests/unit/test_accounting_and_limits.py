"""Position accounting from events, P&L gross and net of charges, the daily loss limit, exit ids."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.trading import ExitReason, Side
from sarathi.risk.book import PositionBook
from sarathi.risk.domain import RiskRules
from sarathi.risk.domain.control import Action, ActionRefusedError, transition
from sarathi.risk.domain.daily import day_pnl, loss_limit_breached
from sarathi.risk.domain.ids import exit_command_id
from sarathi.risk.domain.pnl import position_pnl
from sarathi.risk.domain.position import Status, booked, fills_of, legacy_fills, stored_fills

from ..builders import (
    NIFTY_CALL,
    OPEN,
    a_fill,
    a_nifty_call,
    position_changed,
    position_closed,
    position_opened,
)

CALC = ChargesCalculator()
DAY = OPEN.date()
CONTRACT = a_nifty_call().contract


def test_a_round_trip_from_events_books_each_fill_at_its_own_price() -> None:
    book = PositionBook()
    book.apply(position_opened("sub-1", net=130, average="100"))
    buy = a_fill("sub-2", Side.BUY, 65, "105")
    book.apply(position_changed("sub-2", when=OPEN, net=195, average="101.6667", fill=buy))
    part = a_fill("xTR-sub-1/TARGET_LEG", Side.SELL, 130, "110")
    book.apply(
        position_changed("sub-1", when=OPEN, net=65, average="101.6667", realized="1083.33", fill=part)
    )
    last = a_fill("xTR-sub-1", Side.SELL, 65, "110")
    closed = book.apply(position_closed("xTR-sub-1", when=OPEN, realized="1625", fill=last))
    assert closed is not None
    position = closed.position
    assert position.buy_value == Decimal(19825)  # 130 × 100 + 65 × 105, not from the averages
    assert position.sell_value == Decimal(21450)
    assert position.realized_pnl == Decimal(1625)
    assert {f.fill.order_id for f in position.fills} == {
        "sub-1",
        "sub-2",
        "xTR-sub-1/TARGET_LEG",
        "xTR-sub-1",
    }


def test_a_fill_delivered_twice_is_booked_once() -> None:
    book = PositionBook()
    book.apply(position_opened("sub-1", net=130, average="100"))
    half = a_fill("xSL-sub-1", Side.SELL, 65, "90", cumulative=65)
    event = position_changed("sub-1", when=OPEN, net=65, average="100", realized="-650", fill=half)
    assert book.apply(event) is not None
    assert book.apply(event) is None
    position = book.open_for(CONTRACT)
    assert position is not None
    assert position.sell_value == Decimal(5850)


def test_a_round_trip_from_events_of_an_older_publisher_derives_its_fills() -> None:
    book = PositionBook()
    opened = book.apply(position_opened("sub-1", net=130, average="100"))
    assert opened is not None
    assert opened.opened
    pyramid = book.apply(position_changed("sub-2", when=OPEN, net=195, average="101.6667"))
    assert pyramid is not None
    assert pyramid.position.quantity == 195
    partial = book.apply(
        position_changed("xTR-sub-1", when=OPEN, net=65, average="101.6667", realized="1083.33")
    )
    assert partial is not None
    closed = book.apply(position_closed("xTR-sub-1", when=OPEN, realized="1625", reason=ExitReason.TRAILING))
    assert closed is not None
    assert closed.closed
    position = closed.position
    assert position.entry_order_id == "sub-1"  # pyramids in the same contract keep the tracker
    assert position.status is Status.CLOSED
    assert position.exit_reason is ExitReason.TRAILING
    assert position.realized_pnl == Decimal(1625)
    assert position.buy_value == Decimal("19825.0065")  # 101.6667 × 195, from the averages
    assert position.sell_value - position.buy_value == Decimal(1625)
    assert book.open_for(CONTRACT) is None


def test_repeated_position_events_change_nothing() -> None:
    book = PositionBook()
    event = position_opened("sub-1")
    assert book.apply(event) is not None
    assert book.apply(event) is None
    close = position_closed("xTR-sub-1", when=OPEN, realized="-50")
    assert book.apply(close) is not None
    assert book.apply(close) is None
    assert book.apply(event) is None  # the old open, redelivered after the close


def test_the_realized_pnl_of_a_second_position_in_the_same_contract_starts_from_its_own_base() -> None:
    book = PositionBook()
    book.apply(position_opened("sub-1"))
    book.apply(position_closed("x-1", when=OPEN, realized="650"))
    book.apply(position_opened("sub-2", when=OPEN + timedelta(minutes=5), realized="650"))
    change = book.apply(position_closed("x-2", when=OPEN + timedelta(minutes=9), realized="390"))
    assert change is not None
    assert change.position.realized_pnl == Decimal(-260)


def test_net_pnl_is_gross_less_the_calculators_charges() -> None:
    position = a_nifty_call(entry="100", quantity=130)
    pnl = position_pnl(position, Decimal(110), CALC, DAY)
    note = CALC.round_trip(Decimal(100), Decimal(110), 130, Exchange.NSE, DAY)
    assert pnl.gross == note.gross_pnl == Decimal(1300)
    assert pnl.net == note.net_pnl
    assert pnl.charges > 0


@given(st.integers(min_value=1, max_value=4000), st.integers(min_value=1, max_value=10))
def test_the_daily_loss_limit_is_breached_exactly_at_minus_the_limit_net(ticks: int, lots: int) -> None:
    position = a_nifty_call(entry="200", quantity=65 * lots)
    ltp = ticks * Decimal("0.05")
    day = day_pnl([position], {CONTRACT: ltp}, CALC, DAY)
    rules = RiskRules(daily_loss_limit=Decimal(5000))
    assert loss_limit_breached(day.pnl, rules) == (day.pnl.net <= Decimal(-5000))
    assert day.pnl.net == day.pnl.gross - day.pnl.charges


def test_yesterdays_closed_positions_do_not_count_today() -> None:
    bought, sold = (
        booked("sub-1", 130, Side.BUY, 130, Decimal(100)),
        booked("x-1", 130, Side.SELL, 130, Decimal(30)),
    )
    closed_yesterday = a_nifty_call(
        status=Status.CLOSED, quantity=0, closed_at=OPEN - timedelta(days=1), fills=(bought, sold)
    )
    assert closed_yesterday.realized_pnl == Decimal(-9100)
    day = day_pnl([closed_yesterday], {}, CALC, DAY)
    assert day.pnl.gross == 0
    assert day.closed_positions == 0


def test_operator_actions_move_the_trading_state() -> None:
    assert (
        transition(TradingState.ACTIVE, Action.PAUSE, daily_loss_breached=False).after is TradingState.PAUSED
    )
    kill = transition(TradingState.PAUSED, Action.KILL, daily_loss_breached=False)
    assert (kill.after, kill.flatten) == (TradingState.HALTED, ExitReason.KILL)
    flatten = transition(TradingState.ACTIVE, Action.FLATTEN, daily_loss_breached=False)
    assert (flatten.after, flatten.flatten, flatten.changes_state) == (
        TradingState.ACTIVE,
        ExitReason.FLATTEN,
        False,
    )
    with pytest.raises(ActionRefusedError):
        transition(TradingState.HALTED, Action.PAUSE, daily_loss_breached=False)
    with pytest.raises(ActionRefusedError):
        transition(TradingState.HALTED, Action.RESUME, daily_loss_breached=True)


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-/ .", min_size=1, max_size=64),
    st.sampled_from(list(ExitReason)),
)
def test_exit_command_ids_are_deterministic_dhan_correlation_ids(entry: str, reason: ExitReason) -> None:
    command_id = exit_command_id(entry, reason)
    assert command_id == exit_command_id(entry, reason)
    assert 1 <= len(command_id) <= 25
    assert all(c.isalnum() or c in "_-" for c in command_id)
    others = {exit_command_id(entry, other) for other in ExitReason if other is not reason}
    assert command_id not in others


def test_a_short_entry_id_stays_readable_in_the_exit_id() -> None:
    assert exit_command_id("sub-0001-052175", ExitReason.TRAILING) == "xTR-sub-0001-052175"
    long_id = exit_command_id(f"NIFTY-st_rsi_adx-20260915T0930-{NIFTY_CALL}", ExitReason.KILL)
    assert long_id.startswith("xKL-NIFTY-st_rsi")
    assert len(long_id) == 24


def test_fills_survive_their_stored_form() -> None:
    position = a_nifty_call(fills=(booked("sub-1", 130, Side.BUY, 130, Decimal("100.05")),))
    assert fills_of(stored_fills(position)) == position.fills


def test_a_tracker_saved_before_fills_were_kept_loads_as_one_buy_and_one_sell_order() -> None:
    fills = legacy_fills(65, Decimal(100), Decimal(650), Decimal(13000), Decimal(7150))
    assert [(f.fill.side, f.fill.quantity) for f in fills] == [(Side.BUY, 130), (Side.SELL, 65)]
    position = a_nifty_call(quantity=65, fills=fills)
    assert position.realized_pnl == Decimal(650)
    assert position_pnl(position, Decimal(100), CALC, DAY).gross == Decimal(650)
