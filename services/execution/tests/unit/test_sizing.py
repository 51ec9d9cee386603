"""Sizing and tick rounding: whole lots, prices on the tick, target and stop in the safe direction,
and the loss bound: what an entry loses at its stop, charges included, within the risk per trade
and what is left of today's loss budget, whatever the sizing mode."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange
from sarathi.common.domain.money import OPTION_TICK, is_on_tick
from sarathi.common.domain.trading import EntryOrderType
from sarathi.execution.domain.outcome import Allowed, Gate, Outcome, Refused
from sarathi.execution.domain.sizing import (
    EntryPlan,
    OffsetKind,
    SizingMode,
    SizingRules,
    StopLossCost,
    entry_price,
    plan_entry,
    stop_loss_price,
    target_price,
)

DAY = date(2026, 9, 15)
NSE = StopLossCost(Exchange.NSE, DAY)
NO_LIMIT = Decimal("1E9")


def plan(
    ask: Decimal, lot_size: int, rules: SizingRules, budget_left: Decimal = NO_LIMIT, **kwargs: Any
) -> Outcome[EntryPlan]:
    return plan_entry(ask, lot_size, rules, budget_left=budget_left, cost=NSE, **kwargs)


def loss_at(entry: Decimal, sold_at: Decimal, quantity: int, exchange: Exchange = Exchange.NSE) -> Decimal:
    """Premium lost plus the round trip's charges, straight from the one charges function."""
    trip = ChargesCalculator().round_trip(entry, sold_at, quantity, exchange, DAY)
    return trip.buy_turnover - trip.sell_turnover + trip.charges.total


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
    rules = SizingRules(lots=lots, max_lots=20, risk_per_trade_inr=NO_LIMIT)
    outcome = plan(ask, lot_size, rules)
    if isinstance(outcome, Refused):
        assert outcome.gate is Gate.SIZING
        return
    entry = planned(outcome)
    assert entry.quantity == entry.lots * lot_size
    assert 1 <= entry.lots <= lots
    assert entry.cost <= rules.max_capital_per_trade_inr
    assert 0 < entry.stop_loss_price < entry.entry_price < entry.target_price


def test_fixed_lots_are_capped_by_capital_and_freeze_quantity() -> None:
    rules = SizingRules(lots=10, max_capital_per_trade_inr=Decimal("20000"), risk_per_trade_inr=NO_LIMIT)
    assert planned(plan(Decimal("100"), 65, rules)).lots == 3  # 3 × 6500 ≤ 20000
    assert planned(plan(Decimal("10"), 65, rules, freeze_quantity=200)).lots == 3  # 195 < 200


def test_risk_sizing_keeps_the_loss_at_the_stop_within_the_budget() -> None:
    rules = SizingRules(mode=SizingMode.RISK, risk_per_trade_inr=Decimal("2000"), max_lots=50)
    entry = planned(plan(Decimal("100"), 65, rules))  # stop 80: 20 × 65 = 1300 per lot
    assert entry.lots == 1
    assert (entry.entry_price - entry.stop_loss_price) * entry.quantity <= Decimal("2000")


def test_unaffordable_or_unsizable_entries_are_refused() -> None:
    assert isinstance(plan(Decimal("1000"), 65, SizingRules(risk_per_trade_inr=NO_LIMIT)), Refused)  # 65000
    points_stop = SizingRules(stop_loss_kind=OffsetKind.POINTS, stop_loss_value=Decimal("10"))
    assert isinstance(plan(Decimal("5"), 65, points_stop), Refused)  # stop below zero


def test_trailing_jump_is_put_on_the_tick() -> None:
    entry = planned(plan(Decimal("100"), 65, SizingRules(trailing_jump=Decimal("2.02"))))
    assert entry.trailing_jump == Decimal("2.00")


# --- the loss bound ---------------------------------------------------------------------------


def test_two_fixed_lots_that_would_lose_more_than_the_daily_limit_at_the_stop_are_cut_to_one() -> None:
    """The issue's day: NIFTY 24200 CE at ₹240, 2 lots of 65, stop 20 % lower lost ₹6,273 > ₹5,000."""
    rules = SizingRules(lots=2, risk_per_trade_inr=Decimal(5000), stop_slippage_percent=Decimal(0))
    entry = planned(plan(Decimal("240"), 65, rules, budget_left=Decimal(5000)))
    assert (entry.entry_price, entry.stop_loss_price) == (Decimal("240.00"), Decimal("192.00"))
    assert loss_at(Decimal(240), Decimal(192), 130) > Decimal(5000)  # 2 lots: ₹6,240 + charges
    assert entry.lots == 1
    assert entry.bound.loss == loss_at(Decimal(240), Decimal(192), 65) <= Decimal(5000)


def test_one_lot_that_does_not_fit_what_is_left_of_the_day_is_refused_with_the_figures() -> None:
    rules = SizingRules(lots=1, risk_per_trade_inr=Decimal(5000), stop_slippage_percent=Decimal(0))
    outcome = plan(Decimal("240"), 65, rules, budget_left=Decimal("1587.04"))
    assert isinstance(outcome, Refused)
    assert outcome.gate is Gate.LOSS_BUDGET
    one_lot = loss_at(Decimal(240), Decimal(192), 65)
    assert f"would lose ₹{one_lot}" in outcome.reason
    assert "₹1587.04 of daily loss budget left" in outcome.reason
    assert outcome.details["one_lot_loss_at_stop"] == str(one_lot)


def test_the_risk_per_trade_caps_fixed_lots_when_it_is_below_the_budget_left() -> None:
    rules = SizingRules(lots=3, risk_per_trade_inr=Decimal(3500), stop_slippage_percent=Decimal(0))
    entry = planned(plan(Decimal("240"), 65, rules, budget_left=Decimal(5000)))
    assert (entry.lots, entry.lots_wanted) == (1, 3)
    assert (entry.bound.cap, entry.bound.cap_source) == (Decimal(3500), "risk per trade")


def test_the_bound_assumes_the_stop_fills_lower_by_the_slippage_allowance() -> None:
    rules = SizingRules(lots=1, risk_per_trade_inr=Decimal(5000), stop_slippage_percent=Decimal(2))
    entry = planned(plan(Decimal("240"), 65, rules))
    assert entry.stop_loss_price == Decimal("192.00")
    assert entry.bound.stop_fill == Decimal("188.15")  # 192 × 0.98 = 188.16, rounded down to the tick
    assert entry.bound.loss == loss_at(Decimal(240), Decimal("188.15"), 65)


def test_a_market_entry_is_assumed_to_fill_above_the_ask_by_the_allowance() -> None:
    rules = SizingRules(
        order_type=EntryOrderType.MARKET, risk_per_trade_inr=Decimal(5000), stop_slippage_percent=Decimal(2)
    )
    entry = planned(plan(Decimal("240"), 65, rules))
    assert entry.bound.entry_fill == Decimal("244.80")
    assert entry.bound.loss == loss_at(Decimal("244.80"), Decimal("188.15"), 65)


def test_a_loss_budget_with_nothing_left_refuses_every_entry() -> None:
    outcome = plan(Decimal("5"), 20, SizingRules(), budget_left=Decimal(0))
    assert isinstance(outcome, Refused)
    assert outcome.gate is Gate.LOSS_BUDGET


rupees = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)
slippages = st.decimals(min_value=Decimal(0), max_value=Decimal(10), places=1)


@given(
    ask=asks,
    lot_size=st.sampled_from([15, 20, 25, 30, 65, 75]),
    mode=st.sampled_from(list(SizingMode)),
    lots=st.integers(min_value=1, max_value=20),
    stop_pct=st.decimals(min_value=Decimal(1), max_value=Decimal(90), places=1),
    slippage=slippages,
    order_type=st.sampled_from(list(EntryOrderType)),
    risk_per_trade=rupees,
    budget_left=st.decimals(min_value=Decimal(0), max_value=Decimal("50000"), places=2),
    exchange=st.sampled_from(list(Exchange)),
)
def test_the_loss_at_the_stop_plus_charges_never_exceeds_the_risk_per_trade_nor_the_budget_left(
    *,
    ask: Decimal,
    lot_size: int,
    mode: SizingMode,
    lots: int,
    stop_pct: Decimal,
    slippage: Decimal,
    order_type: EntryOrderType,
    risk_per_trade: Decimal,
    budget_left: Decimal,
    exchange: Exchange,
) -> None:
    rules = SizingRules(
        mode=mode, lots=lots, max_lots=20, order_type=order_type, stop_loss_value=stop_pct,
        stop_slippage_percent=slippage, risk_per_trade_inr=risk_per_trade,
        max_capital_per_trade_inr=Decimal("1E7"),
    )  # fmt: skip
    cap = min(risk_per_trade, budget_left)
    cost = StopLossCost(exchange, DAY)
    outcome = plan_entry(ask, lot_size, rules, budget_left=budget_left, cost=cost)
    if isinstance(outcome, Refused):
        if outcome.gate is Gate.LOSS_BUDGET:  # refused only when one lot really does not fit
            entry = entry_price(ask)
            stop = stop_loss_price(entry, OffsetKind.PERCENT, stop_pct)
            assert loss_at(entry, stop, lot_size, exchange) > cap or slippage > 0
            assert Decimal(outcome.details["one_lot_loss_at_stop"]) > cap
        return
    entry = planned(outcome)
    at_stop = loss_at(entry.entry_price, entry.stop_loss_price, entry.quantity, exchange)
    assert at_stop <= entry.bound.loss <= cap  # the bound holds at the stop price and with slippage
    bound = entry.bound
    assert bound.loss == loss_at(bound.entry_fill, bound.stop_fill, entry.quantity, exchange)
    more = loss_at(bound.entry_fill, bound.stop_fill, entry.quantity + lot_size, exchange)
    assert entry.lots == min(entry.lots_wanted, 20) or more > cap  # as many lots as fit, not fewer
