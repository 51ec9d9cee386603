"""Sizing and tick rounding: whole lots, prices on the tick, target and stop in the safe direction."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.money import OPTION_TICK, is_on_tick
from sarathi.execution.domain.outcome import Allowed, Gate, Refused
from sarathi.execution.domain.sizing import (
    EntryPlan,
    OffsetKind,
    SizingMode,
    SizingRules,
    entry_price,
    plan_entry,
    stop_loss_price,
    target_price,
)

asks = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("2000"), places=2)
percents = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("95"), places=2)
points = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("500"), places=2)


def planned(outcome: object) -> EntryPlan:
    assert isinstance(outcome, Allowed), outcome
    assert isinstance(outcome.value, EntryPlan)
    return outcome.value


@given(asks)
def test_the_limit_is_the_ask_rounded_up_to_the_tick(ask: Decimal) -> None:
    price = entry_price(ask)
    assert is_on_tick(price)
    assert ask <= price < ask + OPTION_TICK


@given(asks, percents, percents)
def test_percent_target_and_stop_are_on_the_tick_and_never_beyond_the_settings(
    ask: Decimal, target_pct: Decimal, stop_pct: Decimal
) -> None:
    entry = entry_price(ask)
    target = target_price(entry, OffsetKind.PERCENT, target_pct)
    stop = stop_loss_price(entry, OffsetKind.PERCENT, stop_pct)
    assert is_on_tick(target)
    assert is_on_tick(stop)
    assert stop < entry < target
    assert target <= max(entry * (1 + target_pct / 100), entry + OPTION_TICK)
    assert entry - stop <= max(entry * stop_pct / 100, OPTION_TICK)  # the loss never exceeds the setting


@given(asks, points, points)
def test_points_target_and_stop_round_towards_the_entry(ask: Decimal, up: Decimal, down: Decimal) -> None:
    entry = entry_price(ask)
    target = target_price(entry, OffsetKind.POINTS, up)
    stop = stop_loss_price(entry, OffsetKind.POINTS, down)
    assert is_on_tick(target)
    assert is_on_tick(stop)
    assert entry + OPTION_TICK <= target <= max(entry + up, entry + OPTION_TICK)
    assert min(entry - down, entry - OPTION_TICK) <= stop <= entry - OPTION_TICK


def test_points_on_the_tick_are_exact() -> None:
    assert target_price(Decimal("100.05"), OffsetKind.POINTS, Decimal("25")) == Decimal("125.05")
    assert stop_loss_price(Decimal("100.05"), OffsetKind.POINTS, Decimal("12.5")) == Decimal("87.55")


@given(asks, st.integers(min_value=1, max_value=100), st.integers(min_value=1, max_value=20))
def test_plans_are_whole_lots_within_capital_and_satisfy_the_submit_command(
    ask: Decimal, lot_size: int, lots: int
) -> None:
    rules = SizingRules(lots=lots, max_lots=20)
    outcome = plan_entry(ask, lot_size, rules)
    if isinstance(outcome, Refused):
        assert outcome.gate is Gate.SIZING
        return
    plan = planned(outcome)
    assert plan.quantity == plan.lots * lot_size
    assert 1 <= plan.lots <= lots
    assert plan.cost <= rules.max_capital_per_trade_inr
    assert 0 < plan.stop_loss_price < plan.entry_price < plan.target_price


def test_fixed_lots_are_capped_by_capital_and_freeze_quantity() -> None:
    rules = SizingRules(lots=10, max_capital_per_trade_inr=Decimal("20000"))
    assert planned(plan_entry(Decimal("100"), 65, rules)).lots == 3  # 3 × 6500 ≤ 20000
    assert planned(plan_entry(Decimal("10"), 65, rules, freeze_quantity=200)).lots == 3  # 195 < 200


def test_risk_sizing_keeps_the_loss_at_the_stop_within_the_budget() -> None:
    rules = SizingRules(mode=SizingMode.RISK, risk_per_trade_inr=Decimal("2000"), max_lots=50)
    plan = planned(plan_entry(Decimal("100"), 65, rules))  # stop 80: 20 × 65 = 1300 per lot
    assert plan.lots == 1
    assert (plan.entry_price - plan.stop_loss_price) * plan.quantity <= Decimal("2000")


def test_unaffordable_or_unsizable_entries_are_refused() -> None:
    assert isinstance(plan_entry(Decimal("1000"), 65, SizingRules()), Refused)  # 65000 > 50000
    points_stop = SizingRules(stop_loss_kind=OffsetKind.POINTS, stop_loss_value=Decimal("10"))
    assert isinstance(plan_entry(Decimal("5"), 65, points_stop), Refused)  # stop below zero


def test_trailing_jump_is_put_on_the_tick() -> None:
    plan = planned(plan_entry(Decimal("100"), 65, SizingRules(trailing_jump=Decimal("2.02"))))
    assert plan.trailing_jump == Decimal("2.00")
