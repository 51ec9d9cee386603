"""The pre-trade gates: small pure functions, each answering `PASS`/`Allowed` or `Refused(reason)`.

Every gate takes what it judges as arguments (the time from the caller's Clock, prices, the
book), so each can be tested alone. The handler runs them cheapest first and stops at the first
refusal, which is stored and served by `GET /decisions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sarathi.common.domain.calendar import IST, MarketCalendar, require_aware
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.common.messages.risk import DailyLossBudget
from sarathi.execution.domain.book import Campaign, HeldPosition
from sarathi.execution.domain.chain import OptionChain
from sarathi.execution.domain.outcome import PASS, Allowed, Gate, Outcome, Refused


@dataclass(frozen=True, slots=True)
class GateRules:
    entry_window_start: time = time(9, 20)
    entry_window_end: time = time(15, 0)
    max_signal_age_seconds: float = 120.0
    max_tick_age_seconds: float = 15.0
    max_chain_age_seconds: float = 15.0
    max_entries_per_underlying: int = 3
    pyramid_requires_profit: bool = True
    max_capital_per_trade_inr: Decimal = Decimal("50000")
    max_total_exposure_inr: Decimal = Decimal("150000")
    max_loss_budget_age_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.entry_window_start >= self.entry_window_end:
            raise ValueError("entry_window_start must be before entry_window_end")
        if not 1 <= self.max_entries_per_underlying <= 3:
            raise ValueError("max_entries_per_underlying lies in 1..3 (entry + at most 2 pyramids)")


def trading_state_gate(state: TradingState | None) -> Outcome[None]:
    if state is None:
        return Refused(Gate.TRADING_STATE, "no trading state published in KV control/trading_state yet")
    if not state.allows_entries:
        return Refused(
            Gate.TRADING_STATE, f"trading state is {state}: no new entries", {"state": state.value}
        )
    return PASS


def holiday_gate(calendar: MarketCalendar, underlying: Underlying, now: datetime) -> Outcome[None]:
    day = require_aware(now).astimezone(IST).date()
    if not calendar.is_trading_day(day, underlying.spec.exchange):
        return Refused(Gate.HOLIDAY, f"{day} is not a trading day on {underlying.spec.exchange}")
    return PASS


def entry_window_gate(now: datetime, rules: GateRules) -> Outcome[None]:
    wall = require_aware(now).astimezone(IST).time()
    if not rules.entry_window_start <= wall < rules.entry_window_end:
        return Refused(
            Gate.ENTRY_WINDOW,
            f"{wall:%H:%M:%S} IST is outside the entry window "
            f"{rules.entry_window_start:%H:%M}–{rules.entry_window_end:%H:%M}",
        )
    return PASS


def signal_age_gate(bar_close: datetime, now: datetime, rules: GateRules) -> Outcome[None]:
    age = (now - bar_close).total_seconds()
    if age > rules.max_signal_age_seconds:
        return Refused(
            Gate.SIGNAL_AGE,
            f"signal is {age:.0f}s old (max {rules.max_signal_age_seconds:.0f}s): the moment has passed",
        )
    return PASS


def daily_loss_gate(breached_on: date | None, now: datetime) -> Outcome[None]:
    today = require_aware(now).astimezone(IST).date()
    if breached_on == today:
        return Refused(Gate.DAILY_LOSS, f"the daily loss limit was breached on {today}")
    return PASS


def loss_budget_gate(budget: DailyLossBudget | None, now: datetime, rules: GateRules) -> Outcome[Decimal]:
    """What is left of today's loss budget, from risk's latest figure; refused when there is no
    figure for today, when it is older than `max_loss_budget_age_seconds` (market time: risk
    writes one every 5 s, so an old one means risk is not checking), or when nothing is left."""
    if budget is None:
        return Refused(
            Gate.LOSS_BUDGET,
            "no daily loss budget from risk yet (KV control/daily_loss_budget): is risk running?",
        )
    today = require_aware(now).astimezone(IST).date()
    if budget.trading_day != today:
        return Refused(
            Gate.LOSS_BUDGET, f"risk's latest loss budget is for {budget.trading_day}, not today {today}"
        )
    age = (now - budget.event_time).total_seconds()
    if age > rules.max_loss_budget_age_seconds:
        return Refused(
            Gate.LOSS_BUDGET,
            f"risk's loss budget is {age:.0f}s old (max {rules.max_loss_budget_age_seconds:g}s): "
            "is risk running?",
        )
    if budget.remaining <= 0:
        return Refused(
            Gate.LOSS_BUDGET,
            f"nothing left of today's ₹{budget.loss_limit} loss budget (net P&L today ₹{budget.net_pnl})",
            {"loss_limit": str(budget.loss_limit), "net_pnl": str(budget.net_pnl)},
        )
    return Allowed(budget.remaining)


def pyramiding_gate(
    campaign: Campaign, option_type: OptionType, bar_close: datetime, rules: GateRules
) -> Outcome[int]:
    """The pyramid level of a new entry (0 = first entry), or why none is allowed."""
    if campaign.entries == 0:
        return Allowed(0)
    limit = rules.max_entries_per_underlying
    if campaign.entries >= limit:
        return Refused(
            Gate.PYRAMIDING,
            f"{campaign.entries} entries already open on this underlying (max {limit}: entry + pyramids)",
            {"entries": campaign.entries, "max": limit},
        )
    if campaign.option_type is not None and option_type is not campaign.option_type:
        return Refused(
            Gate.PYRAMIDING,
            f"open entry is {campaign.option_type}: pyramids only in its direction, not {option_type}",
        )
    if campaign.last_bar is not None and bar_close <= campaign.last_bar:
        return Refused(
            Gate.PYRAMIDING,
            f"signal bar {bar_close.isoformat()} is not later than "
            f"the last entry's {campaign.last_bar.isoformat()}",
        )
    return Allowed(campaign.entries)


def pyramid_profit_gate(
    level: int, held: Sequence[HeldPosition], ltps: Mapping[str, Decimal], rules: GateRules
) -> Outcome[None]:
    """A pyramid only while every open position of the underlying is in profit (if the rule is on)."""
    if level == 0 or not rules.pyramid_requires_profit:
        return PASS
    for position in held:
        ltp = ltps.get(position.security_id)
        if ltp is None:
            return Refused(Gate.PYRAMIDING, f"no current price for open position {position.security_id}")
        if ltp <= position.average_price:
            return Refused(
                Gate.PYRAMIDING,
                f"open position {position.security_id} is not in profit "
                f"(ltp {ltp} ≤ average {position.average_price})",
            )
    return PASS


def underlying_fresh_gate(last_tick_at: datetime | None, now: datetime, rules: GateRules) -> Outcome[None]:
    if last_tick_at is None:
        return Refused(Gate.STALE_PRICE, "no tick of the underlying from the feed")
    age = (now - last_tick_at).total_seconds()
    if age > rules.max_tick_age_seconds:
        return Refused(
            Gate.STALE_PRICE,
            f"underlying's last tick is {age:.1f}s old (max {rules.max_tick_age_seconds:g}s)",
        )
    return PASS


def chain_fresh_gate(chain: OptionChain, now: datetime, rules: GateRules) -> Outcome[None]:
    age = chain.age_seconds(now)
    if age > rules.max_chain_age_seconds:
        return Refused(
            Gate.STALE_PRICE,
            f"contract prices (option chain) are {age:.1f}s old (max {rules.max_chain_age_seconds:g}s)",
        )
    return PASS


def capital_gate(cost: Decimal, rules: GateRules) -> Outcome[None]:
    if cost > rules.max_capital_per_trade_inr:
        return Refused(
            Gate.CAPITAL, f"entry costs ₹{cost}, more than ₹{rules.max_capital_per_trade_inr} per trade"
        )
    return PASS


def exposure_gate(current: Decimal, cost: Decimal, rules: GateRules) -> Outcome[None]:
    if current + cost > rules.max_total_exposure_inr:
        return Refused(
            Gate.EXPOSURE,
            f"exposure would be ₹{current + cost} (now ₹{current}), above ₹{rules.max_total_exposure_inr}",
        )
    return PASS
