"""One signal through the gates to a `SubmitEntry` or a refusal (the handler's domain step).

Cheap checks run first, so a PAUSED system or a closed window costs no chain fetch. Every step
is a pure domain function; this module only fetches what the next step needs (expiries, the
chain, the contract row, the latest ticks) through the ports it is given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any, Protocol

from sarathi.common.domain.calendar import IST, MarketCalendar, require_aware
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment, Underlying
from sarathi.common.messages.market import Tick
from sarathi.common.messages.orders import SubmitEntry
from sarathi.common.messages.risk import DailyLossBudget
from sarathi.common.messages.signals import Signal
from sarathi.execution.adapters.chain_cache import ChainUnavailableError
from sarathi.execution.adapters.derivatives import DerivativeLookup
from sarathi.execution.domain import gates
from sarathi.execution.domain.book import PendingEntry, PositionBook
from sarathi.execution.domain.chain import OptionChain
from sarathi.execution.domain.entry import match_contract, submit_entry
from sarathi.execution.domain.expiry import ExpiryDayPolicy, choose_expiry
from sarathi.execution.domain.ids import entry_command_id
from sarathi.execution.domain.open_risk import EntryBudget, budget_for_entry
from sarathi.execution.domain.outcome import Allowed, Gate, Refused
from sarathi.execution.domain.sizing import SizingRules, StopLossCost, plan_entry
from sarathi.execution.domain.strikes import StrikeRules, option_type_for, select_strike


class Chains(Protocol):
    async def get(self, underlying: Underlying, expiry: Any) -> OptionChain: ...


LatestTicks = Callable[[list[ContractKey]], Awaitable[dict[ContractKey, Tick]]]


@dataclass(frozen=True, slots=True)
class Rules:
    strikes: StrikeRules
    gates: gates.GateRules
    sizing: SizingRules
    expiry_policy: ExpiryDayPolicy
    expiry_cutoff: time


@dataclass(frozen=True, slots=True)
class Decided:
    """A placed entry (`command` and `pending`) or a refusal; `details` are stored with either."""

    command: SubmitEntry | None
    pending: PendingEntry | None
    refusal: Refused | None
    details: dict[str, Any] = field(default_factory=dict)


class _Stop(Exception):  # noqa: N818 - control flow inside `decide`, never escapes it
    def __init__(self, refusal: Refused) -> None:
        self.refusal = refusal


def _check(outcome: Any) -> Any:
    if isinstance(outcome, Refused):
        raise _Stop(outcome)
    return outcome.value


class EntryDecider:
    def __init__(
        self,
        rules: Rules,
        *,
        calendar: MarketCalendar,
        chains: Chains,
        derivatives: DerivativeLookup,
        latest_ticks: LatestTicks,
        trading_state: Callable[[], TradingState | None],
        loss_budget: Callable[[], DailyLossBudget | None],
    ) -> None:
        self._rules = rules
        self._calendar = calendar
        self._chains = chains
        self._derivatives = derivatives
        self._latest_ticks = latest_ticks
        self._trading_state = trading_state
        self._loss_budget = loss_budget

    async def decide(self, signal: Signal, book: PositionBook, now: datetime) -> Decided:
        details: dict[str, Any] = {}
        try:
            return await self._decide(signal, book, now, details)
        except _Stop as stop:
            return Decided(None, None, stop.refusal, {**details, **stop.refusal.details})

    async def _decide(
        self, signal: Signal, book: PositionBook, now: datetime, details: dict[str, Any]
    ) -> Decided:
        rules, underlying = self._rules, signal.underlying
        option_type = option_type_for(signal.direction)
        if option_type is None:
            raise _Stop(Refused(Gate.SIGNAL, f"{signal.direction} signal: nothing to buy"))
        _check(gates.trading_state_gate(self._trading_state()))
        _check(gates.holiday_gate(self._calendar, underlying, now))
        _check(gates.entry_window_gate(now, rules.gates))
        _check(gates.signal_age_gate(signal.bar_close_time, now, rules.gates))
        _check(gates.daily_loss_gate(book.daily_loss_day, now))
        budget_left: Decimal = _check(gates.loss_budget_gate(self._loss_budget(), now, rules.gates))
        details["loss_budget_left"] = str(budget_left)
        level: int = _check(
            gates.pyramiding_gate(book.campaign(underlying), option_type, signal.bar_close_time, rules.gates)
        )
        details["pyramid_level"] = level
        try:
            command_id = entry_command_id(underlying, signal.strategy, signal.bar_close_time, level)
        except ValueError as exc:
            raise _Stop(Refused(Gate.SIGNAL, f"malformed signal: {exc}")) from None
        expiries = await self._derivatives.expiries(underlying)
        expiry = _check(choose_expiry(underlying, expiries, now, rules.expiry_policy, rules.expiry_cutoff))
        details["expiry"] = expiry.isoformat()
        try:
            chain = await self._chains.get(underlying, expiry)
        except ChainUnavailableError as exc:
            raise _Stop(Refused(Gate.CHAIN, str(exc))) from None
        index_key = ContractKey(ExchangeSegment.IDX_I, underlying.spec.security_id)
        held = book.held(underlying)
        every_held = list(book.positions.values())  # all underlyings: the loss bound counts them all
        ticks = await self._latest_ticks(
            [
                index_key,
                *(ContractKey(ExchangeSegment.from_wire(p.segment), p.security_id) for p in every_held),
            ]
        )
        index_tick = ticks.get(index_key)
        _check(gates.underlying_fresh_gate(index_tick.received_at if index_tick else None, now, rules.gates))
        _check(gates.chain_fresh_gate(chain, now, rules.gates))
        quote = _check(select_strike(chain, option_type, rules.strikes))
        details.update(_quote_details(quote, chain))
        listed = await self._derivatives.contract(underlying, expiry, quote.security_id)
        _check(match_contract(quote, expiry, listed.contract if listed else None))
        assert listed is not None
        ltps = _held_prices(held, ticks, chain)
        _check(gates.pyramid_profit_gate(level, held, ltps, rules.gates))
        contract = listed.contract
        marks = _held_prices(every_held, ticks, chain)
        entry_budget: EntryBudget = _check(budget_for_entry(budget_left, book, marks))
        details.update(entry_budget.details())
        cost = StopLossCost(contract.underlying.spec.exchange, require_aware(now).astimezone(IST).date())
        plan = _check(
            plan_entry(
                quote.ask, contract.lot_size, rules.sizing, budget_left=entry_budget.left, cost=cost,
                tick=contract.tick_size, freeze_quantity=listed.freeze_quantity,
            )
        )  # fmt: skip
        details.update(plan.bound.details(), lots_wanted=plan.lots_wanted)
        _check(gates.capital_gate(plan.cost, rules.gates))
        _check(gates.exposure_gate(book.exposure(), plan.cost, rules.gates))
        command = submit_entry(signal, command_id, listed.contract, plan, level=level, now=now)
        pending = PendingEntry(
            command_id, listed.contract.security_id, underlying, option_type, signal.bar_close_time,
            plan.quantity, plan.entry_price, now, plan.bound.stop_fill, plan.bound.loss,
        )  # fmt: skip
        details.update(
            lots=plan.lots,
            quantity=plan.quantity,
            entry_price=str(plan.entry_price),
            target_price=str(plan.target_price),
            stop_loss_price=str(plan.stop_loss_price),
            command=command.model_dump(mode="json"),
        )
        return Decided(command, pending, None, details)


def _quote_details(quote: Any, chain: OptionChain) -> dict[str, Any]:
    return {
        "security_id": quote.security_id, "strike": str(quote.strike), "option_type": quote.option_type.value,
        "bid": str(quote.bid), "ask": str(quote.ask), "oi": quote.oi, "volume": quote.volume,
        "delta": str(quote.delta), "underlying_price": str(chain.underlying_price),
    }  # fmt: skip


def _held_prices(held: Any, ticks: dict[ContractKey, Tick], chain: OptionChain) -> dict[str, Decimal]:
    """LTP of each held contract: the feed's latest tick, else the chain's quote (same expiry)."""
    prices: dict[str, Decimal] = {}
    for position in held:
        tick = ticks.get(ContractKey(ExchangeSegment.from_wire(position.segment), position.security_id))
        quote = chain.quote_of(position.security_id)
        if tick is not None:
            prices[position.security_id] = tick.ltp
        elif quote is not None:
            prices[position.security_id] = quote.ltp
    return prices


__all__ = ["Allowed", "Decided", "EntryDecider", "Rules"]
