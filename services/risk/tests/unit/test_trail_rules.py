"""The trailing profit lock as properties over scripted premium paths (Decimal, on the ₹0.05 tick)."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from sarathi.common.domain.money import OPTION_TICK, is_on_tick
from sarathi.common.domain.trading import ExitReason
from sarathi.risk.domain import RiskRules, assess, decide_exit
from sarathi.risk.domain.position import Status
from sarathi.risk.domain.trail import follow_trail

from ..builders import LOT, OPEN, a_nifty_call, at

RULES = RiskRules()
ENTRY_TICKS = 2000  # ₹100.00

premium_ticks = st.integers(min_value=1, max_value=8000)  # ₹0.05 .. ₹400.00
lots = st.integers(min_value=1, max_value=10)


def price(ticks: int) -> Decimal:
    return ticks * OPTION_TICK


def walk(position_lots: int, path: list[int], rules: RiskRules = RULES) -> list[tuple[Decimal, object]]:
    """Check the position once per price, one second apart; returns (pnl, exit) per check."""
    position = a_nifty_call(entry=str(price(ENTRY_TICKS)), quantity=position_lots * LOT)
    seen = []
    for step, ticks in enumerate(path):
        now = OPEN + timedelta(seconds=step)
        result = assess(position, at(price(ticks), now), rules, now)
        seen.append((result.pnl, result.exit))
        position = result.position
        if result.exit is not None:
            break
    return seen


def expected_exit_index(quantity: int, path: list[int], rules: RiskRules = RULES) -> int | None:
    """The reference rule, written independently: arm at the lock, exit at hwm × 0.95."""
    hwm = None
    for index, ticks in enumerate(path):
        pnl = (price(ticks) - price(ENTRY_TICKS)) * quantity
        if hwm is None and pnl >= rules.min_profit_lock:
            hwm = pnl
        elif hwm is not None:
            hwm = max(hwm, pnl)
        if hwm is not None and pnl <= hwm * Decimal("0.95"):
            return index
    return None


@given(lots, st.lists(premium_ticks, min_size=1, max_size=60))
@settings(max_examples=300)
def test_the_trail_never_arms_below_the_lock(position_lots: int, path: list[int]) -> None:
    position = a_nifty_call(entry=str(price(ENTRY_TICKS)), quantity=position_lots * LOT)
    for ticks in path:
        pnl = position.gross_pnl(price(ticks))
        moved = follow_trail(position, pnl, RULES)
        if not position.trail_armed:
            assert moved.trail_armed == (pnl >= RULES.min_profit_lock)
        position = moved
    if position.trail_armed:
        assert position.hwm is not None
        assert position.hwm >= RULES.min_profit_lock


@given(lots, st.lists(premium_ticks, min_size=1, max_size=80))
@settings(max_examples=500)
def test_an_exit_fires_exactly_when_pnl_first_drops_to_95_percent_of_the_hwm(
    position_lots: int, path: list[int]
) -> None:
    checks = walk(position_lots, path)
    expected = expected_exit_index(position_lots * LOT, path)
    exits = [index for index, (_, decision) in enumerate(checks) if decision is not None]
    if expected is None:
        assert exits == []
    else:
        assert exits == [expected]
        decision = checks[expected][1]
        assert decision.reason is ExitReason.TRAILING  # type: ignore[attr-defined]


@given(lots, premium_ticks, premium_ticks)
def test_pnl_is_exact_decimal_rupees_for_prices_on_the_tick(position_lots: int, entry: int, ltp: int) -> None:
    quantity = position_lots * LOT
    position = a_nifty_call(entry=str(price(entry)), quantity=quantity)
    pnl = position.gross_pnl(price(ltp))
    assert isinstance(pnl, Decimal)
    assert is_on_tick(price(ltp))
    assert is_on_tick(price(entry))
    assert pnl == Decimal(ltp - entry) * quantity * OPTION_TICK  # exact: no float anywhere
    assert pnl * 20 == (ltp - entry) * quantity  # whole ticks times units


def test_a_position_rising_to_1600_exits_at_the_first_check_at_or_below_1520() -> None:
    quantity = 80  # ₹20.00 of premium is ₹1,600
    position = a_nifty_call(entry="100", quantity=quantity)
    path = ["105", "112.5", "120", "119.5", "119.05", "119", "118.95", "118"]  # pnl 1600, 1560, 1524, 1520
    decisions = []
    for step, premium in enumerate(path):
        now = OPEN + timedelta(seconds=5 * step)
        result = assess(position, at(premium, now), RULES, now)
        position = result.position
        decisions.append(result.exit)
        if result.exit:
            break
    assert position.hwm == Decimal(1600)
    assert decisions[-1] is not None
    assert decisions[-1].pnl == Decimal(1520)
    assert all(d is None for d in decisions[:-1])


def test_a_position_that_never_reaches_1000_is_never_trailed() -> None:
    position = a_nifty_call(entry="100", quantity=80)
    for step, premium in enumerate(["110", "112.45", "101", "100", "90"]):  # best pnl ₹996
        now = OPEN + timedelta(seconds=5 * step)
        result = assess(position, at(premium, now), RULES, now)
        assert result.exit is None
        assert not result.position.trail_armed
        position = result.position


def test_square_off_exits_every_open_position_at_15_15_whatever_the_price() -> None:
    position = a_nifty_call()
    before = OPEN.replace(hour=15, minute=14, second=59)
    square_off = OPEN.replace(hour=15, minute=15)
    assert decide_exit(position, at("100", before), RULES, before) is None
    decision = decide_exit(position, at("100", square_off), RULES, square_off)
    assert decision is not None
    assert decision.reason is ExitReason.SQUARE_OFF
    later = RiskRules(square_off=time(15, 20))
    assert decide_exit(position, at("100", square_off), later, square_off) is None


def test_no_decision_on_a_stale_price_and_an_exit_at_market_after_the_limit() -> None:
    position = a_nifty_call(entry="100", quantity=80, trail_armed=True, hwm=Decimal(1600))
    tick_at = OPEN + timedelta(seconds=30)
    stale = tick_at + timedelta(seconds=RULES.stale_after_seconds)
    result = assess(position, at("110", tick_at), RULES, stale)  # ₹800: far below the trail
    assert result.stale
    assert result.exit is None
    assert result.position == position
    too_stale = tick_at + timedelta(seconds=RULES.stale_exit_after_seconds)
    decision = decide_exit(position, at("110", tick_at), RULES, too_stale)
    assert decision is not None
    assert decision.reason is ExitReason.STALE_PRICE


def test_a_contract_that_never_ticked_is_stale_from_its_open() -> None:
    position = a_nifty_call(opened_at=OPEN)
    assert assess(position, None, RULES, OPEN + timedelta(seconds=1)).stale
    decision = decide_exit(position, None, RULES, OPEN + timedelta(seconds=RULES.stale_exit_after_seconds))
    assert decision is not None
    assert decision.reason is ExitReason.STALE_PRICE


def test_a_closing_position_gets_no_second_exit() -> None:
    position = a_nifty_call(status=Status.CLOSING, exit_reason=ExitReason.TRAILING)
    late = OPEN.replace(hour=15, minute=20)
    assert decide_exit(position, at("1", late), RULES, late) is None


def test_the_net_basis_arms_later_than_gross() -> None:
    position = a_nifty_call(entry="100", quantity=80)
    now = OPEN + timedelta(seconds=5)
    gross_pnl = position.gross_pnl(Decimal("112.5"))  # ₹1,000 exactly
    armed_gross = assess(position, at("112.5", now), RULES, now)
    armed_net = assess(position, at("112.5", now), RULES, now, pnl_of=lambda p, x: p.gross_pnl(x) - 60)
    assert gross_pnl == Decimal(1000)
    assert armed_gross.armed_now
    assert not armed_net.armed_now
