"""Each pre-trade gate alone: what passes, what is refused and with which gate."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sarathi.common.clock import IST
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.execution.domain import gates
from sarathi.execution.domain.book import Campaign, HeldPosition
from sarathi.execution.domain.chain import OptionChain
from sarathi.execution.domain.outcome import PASS, Allowed, Gate, Refused
from sarathi.execution.testing import a_loss_budget

RULES = gates.GateRules()
NOW = datetime(2026, 9, 15, 10, 20, tzinfo=IST)


def refused_by(outcome: object, gate: Gate) -> bool:
    return isinstance(outcome, Refused) and outcome.gate is gate


def a_position(security_id: str = "1", average: str = "100") -> HeldPosition:
    return HeldPosition(security_id, "NSE_FNO", Underlying.NIFTY, OptionType.CALL, 65, Decimal(average))


def test_only_active_allows_entries() -> None:
    assert gates.trading_state_gate(TradingState.ACTIVE) is PASS
    for state in (TradingState.PAUSED, TradingState.HALTED, TradingState.RECONCILING, None):
        assert refused_by(gates.trading_state_gate(state), Gate.TRADING_STATE), state


def test_holidays_and_weekends_are_refused() -> None:
    calendar = MarketCalendar()
    assert gates.holiday_gate(calendar, Underlying.NIFTY, NOW) is PASS
    saturday = datetime(2026, 9, 19, 10, 20, tzinfo=IST)
    assert refused_by(gates.holiday_gate(calendar, Underlying.NIFTY, saturday), Gate.HOLIDAY)
    gandhi_jayanti = datetime(2026, 10, 2, 10, 20, tzinfo=IST)
    assert refused_by(gates.holiday_gate(calendar, Underlying.NIFTY, gandhi_jayanti), Gate.HOLIDAY)


def test_entry_window_is_0920_inclusive_to_1500_exclusive() -> None:
    day = NOW.replace(hour=0, minute=0)
    for hh, mm, ok in ((9, 19, False), (9, 20, True), (14, 59, True), (15, 0, False)):
        outcome = gates.entry_window_gate(day.replace(hour=hh, minute=mm), RULES)
        assert (outcome is PASS) is ok, (hh, mm)


def test_an_old_signal_is_refused() -> None:
    assert gates.signal_age_gate(NOW - timedelta(seconds=30), NOW, RULES) is PASS
    assert refused_by(gates.signal_age_gate(NOW - timedelta(minutes=5), NOW, RULES), Gate.SIGNAL_AGE)


def test_a_daily_loss_breach_today_stops_entries_and_yesterdays_does_not() -> None:
    assert refused_by(gates.daily_loss_gate(date(2026, 9, 15), NOW), Gate.DAILY_LOSS)
    assert gates.daily_loss_gate(date(2026, 9, 14), NOW) is PASS
    assert gates.daily_loss_gate(None, NOW) is PASS


def test_pyramiding_levels_direction_bar_and_limit() -> None:
    bar = NOW - timedelta(minutes=5)
    assert gates.pyramiding_gate(Campaign(), OptionType.PUT, NOW, RULES) == Allowed(0)
    open_call = Campaign(OptionType.CALL, 1, bar)
    assert gates.pyramiding_gate(open_call, OptionType.CALL, NOW, RULES) == Allowed(1)
    assert refused_by(gates.pyramiding_gate(open_call, OptionType.PUT, NOW, RULES), Gate.PYRAMIDING)
    assert refused_by(gates.pyramiding_gate(open_call, OptionType.CALL, bar, RULES), Gate.PYRAMIDING)
    full = Campaign(OptionType.CALL, 3, bar)
    outcome = gates.pyramiding_gate(full, OptionType.CALL, NOW, RULES)
    assert refused_by(outcome, Gate.PYRAMIDING)
    assert isinstance(outcome, Refused)
    assert "max 3" in outcome.reason


def test_a_pyramid_needs_every_open_position_in_profit() -> None:
    held = [a_position("1", "100"), a_position("2", "50")]
    winning = {"1": Decimal("110"), "2": Decimal("55")}
    assert gates.pyramid_profit_gate(1, held, winning, RULES) is PASS
    assert refused_by(
        gates.pyramid_profit_gate(1, held, {**winning, "2": Decimal("50")}, RULES), Gate.PYRAMIDING
    )
    assert refused_by(gates.pyramid_profit_gate(1, held, {"1": Decimal("110")}, RULES), Gate.PYRAMIDING)
    assert gates.pyramid_profit_gate(0, held, {}, RULES) is PASS
    relaxed = gates.GateRules(pyramid_requires_profit=False)
    assert gates.pyramid_profit_gate(1, held, {}, relaxed) is PASS


def test_stale_underlying_ticks_and_stale_chains_are_refused() -> None:
    assert gates.underlying_fresh_gate(NOW - timedelta(seconds=2), NOW, RULES) is PASS
    assert refused_by(gates.underlying_fresh_gate(NOW - timedelta(seconds=60), NOW, RULES), Gate.STALE_PRICE)
    assert refused_by(gates.underlying_fresh_gate(None, NOW, RULES), Gate.STALE_PRICE)
    chain = OptionChain(Underlying.NIFTY, date(2026, 9, 22), Decimal(24000), (), NOW - timedelta(seconds=40))
    assert refused_by(gates.chain_fresh_gate(chain, NOW, RULES), Gate.STALE_PRICE)


def test_capital_per_trade_and_total_exposure() -> None:
    assert gates.capital_gate(Decimal("50000"), RULES) is PASS
    assert refused_by(gates.capital_gate(Decimal("50000.05"), RULES), Gate.CAPITAL)
    assert gates.exposure_gate(Decimal("100000"), Decimal("50000"), RULES) is PASS
    assert refused_by(gates.exposure_gate(Decimal("100000"), Decimal("50000.05"), RULES), Gate.EXPOSURE)


def test_the_loss_budget_left_is_risks_latest_figure_for_today() -> None:
    budget = a_loss_budget(NOW - timedelta(seconds=5), net_pnl=Decimal("-3412.96"))
    assert gates.loss_budget_gate(budget, NOW, RULES) == Allowed(Decimal("1587.04"))


def test_no_old_or_spent_loss_budget_refuses_entries() -> None:
    yesterday = a_loss_budget(NOW - timedelta(days=1))
    old = a_loss_budget(NOW - timedelta(seconds=RULES.max_loss_budget_age_seconds + 1))
    spent = a_loss_budget(NOW, net_pnl=Decimal("-5224.96"))
    for budget, words in ((None, "is risk running"), (yesterday, "not today"), (old, "61s old"),
                          (spent, "nothing left of today's ₹5000 loss budget")):  # fmt: skip
        outcome = gates.loss_budget_gate(budget, NOW, RULES)
        assert refused_by(outcome, Gate.LOSS_BUDGET), budget
        assert isinstance(outcome, Refused)
        assert words in outcome.reason
