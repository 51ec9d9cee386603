"""The backtest engine: the services' decision code driven by a simulated clock over minute history.

Nothing here decides anything the services decide; it calls their code and moves time:
- signals: `roll_up` of the 1-minute index bars onto the 5-minute grid, `decide_each` on the
  bars a freshly started signals service would hold (`warm_up_days` of history, then today's);
- execution: `EntryDecider.decide` (its gates, expiry choice, strike selection, open-risk bound
  and sizing) with its ports answered from history (`market.HistoryMarket`), and its
  `PositionBook` (pyramiding) fed the position changes the broker would report;
- risk: `assess` (square-off, stale prices, lock and trail) on every held position at each
  minute's close, `day_pnl` and `loss_limit_breached` (halt and flatten), and the loss budget
  execution reads (`sarathi.risk.budget.loss_budget`); trackers are risk's `TrackedPosition`;
- the broker: the Super Order's legs and the fills of the fill model (`fills.FillModel`).

Each trading day starts flat, as the services do after the night's restart. Market time steps a
minute at a time: the minute's fills, then risk's check at its close, then (at a bar's end) the
signal and execution's decision, in the order the services act at that instant.

A day's books (`_DayState`: the broker's Super Orders, risk's trackers, execution's book, the
signal → decision step) are shared with the recorded-day replay (`recording.py`), which drives
them tick by tick over a recorded market with `fills.QuoteFills`; `Fills` and `Market` are what
each driver supplies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sarathi.cli.backtest.fills import FillModel
from sarathi.cli.backtest.history import History, HistoryError
from sarathi.cli.backtest.market import Contracts, HistoryMarket
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import Contract, Underlying, contract_name
from sarathi.common.domain.pnl import exchange_of, trade_pnl
from sarathi.common.domain.signal_ids import signal_id
from sarathi.common.domain.trading import Direction, EntryOrderType, ExitReason, Side
from sarathi.common.messages.orders import SubmitEntry
from sarathi.common.messages.risk import DailyLossBudget
from sarathi.common.messages.signals import Signal
from sarathi.execution.decide import EntryDecider, Rules
from sarathi.execution.domain.book import HeldPosition, PositionBook
from sarathi.execution.settings import ExecutionSettings
from sarathi.risk.budget import loss_budget
from sarathi.risk.domain import position as tracker
from sarathi.risk.domain.daily import DayPnl, day_pnl, loss_limit_breached
from sarathi.risk.domain.pnl import trail_pnl
from sarathi.risk.domain.position import Ltp, Status, TrackedPosition
from sarathi.risk.domain.rules import RiskRules
from sarathi.risk.domain.trail import assess
from sarathi.risk.settings import RiskSettings
from sarathi.signals.domain import ClosedBar, SessionGrid, TrendDecision, decide_each, roll_up
from sarathi.signals.settings import SignalsSettings

ONE_MINUTE = timedelta(minutes=1)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Config:
    """The services' own settings (same names, same environment) and the fill model."""

    signals: SignalsSettings
    execution: ExecutionSettings
    risk: RiskSettings
    fills: FillModel
    underlyings: tuple[Underlying, ...]

    def rules(self) -> Rules:
        e = self.execution
        return Rules(
            strikes=e.strike_rules(), gates=e.gate_rules(), sizing=e.sizing_rules(),
            expiry_policy=e.expiry_day_policy, expiry_cutoff=e.expiry_roll_cutoff,
        )  # fmt: skip


@dataclass(eq=False)
class SuperOrder:
    """One entry at the simulated broker: its entry, then its legs on the filled quantity."""

    command: SubmitEntry
    placed_at: datetime
    filled_at: datetime | None = None
    fill_price: Decimal | None = None
    open_quantity: int = 0  # filled and not yet sold by a leg
    done: bool = False  # legs fired or cancelled, or never filled and ended
    unpriced_from: datetime | None = None  # the broker had the order but the data no price of it

    @property
    def security_id(self) -> str:
        return self.command.contract.security_id


@dataclass(frozen=True)
class BacktestTrade:
    day: date
    underlying: str
    security_id: str
    contract: str
    lots: int
    quantity: int
    entries: int
    entry_at: datetime
    entry_price: Decimal
    exit_at: datetime
    exit_price: Decimal
    exit_reason: str
    gross: Decimal
    charges: Decimal
    note: str = ""

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges


@dataclass
class DayResult:
    day: date
    trades: list[BacktestTrade] = field(default_factory=list)
    signals: int = 0
    placed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    unfilled: int = 0
    halted: bool = False
    missing: list[str] = field(default_factory=list)  # underlyings without history that day
    notes: list[str] = field(default_factory=list)  # what the data could not give (a recording's gaps)

    @property
    def net(self) -> Decimal:
        return sum((t.net for t in self.trades), ZERO)


@dataclass
class _Holding:
    position: TrackedPosition
    order_type_of_exit: ExitReason | None = None  # our market exit, sold at the next price after
    exit_placed_at: datetime | None = None
    buys: int = 0
    notes: list[str] = field(default_factory=list)


class Fills(Protocol):
    """A fill model over the price points of its market (`fills.FillModel`, `fills.QuoteFills`)."""

    def can_fill(self, placed_at: datetime, at: datetime) -> bool:
        """Whether an entry placed at `placed_at` meets the market at `at`."""
        ...

    def can_exit(self, placed_at: datetime, at: datetime) -> bool:
        """Whether our exit (risk's MARKET sell) decided at `placed_at` meets the market at `at`."""
        ...

    def entry(self, order_type: EntryOrderType, limit: Decimal, point: Any) -> Decimal | None: ...

    def legs(
        self, stop: Decimal | None, target: Decimal | None, point: Any
    ) -> tuple[ExitReason, Decimal] | None: ...

    def market_exit(self, point: Any) -> Decimal | None: ...


class Market(Protocol):
    """What a day's books read of the market besides execution's ports."""

    marks: dict[str, tuple[Decimal, datetime]]

    def point(self, security_id: str, at: datetime) -> Any | None:
        """The price point an order meets at `at` (a minute bar, a recorded quote), if any."""
        ...

    def mark(self, point: Any, at: datetime) -> tuple[Decimal, datetime]:
        """The price and time risk reads for a held contract after `point`."""
        ...

    def contract_of(self, security_id: str) -> Contract:
        """The contract of an id the market gave execution."""
        ...


class Decisions:
    """What the engines share: the services' settings as rules, the charges, the fill model."""

    def __init__(self, config: Config, fills: Fills, calculator: ChargesCalculator | None = None) -> None:
        self.config = config
        self.fills = fills
        self.calculator = calculator or ChargesCalculator()
        self._trend = config.signals.trend()
        self._rules = config.rules()
        self._risk: RiskRules = config.risk.rules()


class Engine(Decisions):
    """Minute history, day after day."""

    def __init__(
        self, config: Config, history: History, *, calculator: ChargesCalculator | None = None
    ) -> None:
        super().__init__(config, config.fills, calculator)
        self.history = history
        self.calendar = history.calendar
        self.contracts = Contracts()
        self._bars5: dict[tuple[Underlying, date], list[ClosedBar]] = {}

    # --- signals ----------------------------------------------------------------------------

    def _five_minute(self, underlying: Underlying, day: date) -> list[ClosedBar]:
        key = (underlying, day)
        if key not in self._bars5:
            minutes = self.history.minutes(underlying, day)
            grid = SessionGrid(self.calendar, underlying.spec.exchange, self.config.signals.bar_minutes)
            self._bars5[key] = roll_up(minutes, grid) if minutes else []
            if len(self._bars5) > 64:
                self._bars5.pop(next(iter(self._bars5)))
        return self._bars5[key]

    def decisions(self, underlying: Underlying, day: date) -> dict[datetime, TrendDecision]:
        """The decision at each of today's bar ends, on the bars a freshly started service holds."""
        warm: list[ClosedBar] = []
        previous = day
        for _ in range(self.config.signals.warm_up_days):
            previous = self.calendar.previous_trading_day(previous, underlying.spec.exchange)
            warm = self._five_minute(underlying, previous) + warm
        today = self._five_minute(underlying, day)
        if not today:
            return {}
        decided = decide_each([*warm, *today], self._trend)
        return {bar.end: decision for bar, decision in zip(today, decided[len(warm) :], strict=True)}

    # --- a day ------------------------------------------------------------------------------

    async def run_day(self, day: date) -> DayResult:
        result = DayResult(day)
        market = HistoryMarket(self.contracts)
        for underlying in self.config.underlyings:
            data = self.history.day(underlying, day)
            if data is None or not data.minutes:
                result.missing.append(underlying.value)
            else:
                market.days[underlying] = data
        if not market.days:
            return result
        decisions = {u: self.decisions(u, day) for u in market.days}
        state = _DayState(self, result, market, day)
        decider = EntryDecider(
            self._rules, calendar=self.calendar, chains=market, derivatives=market,
            latest_ticks=market.latest, trading_state=state.trading_state, loss_budget=state.loss_budget,
        )  # fmt: skip
        open_at = self.calendar.session_open(day)
        close_at = self.calendar.session_close(day)
        minute = open_at
        while minute < close_at:
            now = minute + ONE_MINUTE
            state.fills(minute)
            market.now = now
            state.risk_check(now)
            for underlying, by_end in decisions.items():
                decision = by_end.get(now)
                if decision is not None and decision.direction is not Direction.NEUTRAL:
                    await state.signal(decider, underlying, decision, now)
            minute = now
        state.end(close_at)
        return result

    async def run(
        self, days: Iterable[date], progress: Callable[[DayResult], None] | None = None
    ) -> list[DayResult]:
        results = []
        for day in days:
            found = await self.run_day(day)
            results.append(found)
            if progress is not None:
                progress(found)
        return results


class _DayState:
    """One day's books: the broker's super orders, risk's trackers, execution's book."""

    def __init__(self, engine: Decisions, result: DayResult, market: Market, day: date) -> None:
        self.engine = engine
        self.result = result
        self.market = market
        self.day = day
        self.book = PositionBook()
        self.orders: list[SuperOrder] = []
        self.holdings: dict[str, _Holding] = {}  # security id → the open tracker of that contract
        self.halted = False
        self.latest_day: DayPnl | None = None
        self.latest_at: datetime | None = None
        self.closed: list[TrackedPosition] = []  # today's closed trackers: risk's day P&L counts them
        self._events = 0
        self._counted = -1  # closed trackers in the last day P&L

    # --- what execution reads -------------------------------------------------------------------

    def trading_state(self) -> TradingState:
        return TradingState.HALTED if self.halted else TradingState.ACTIVE

    def loss_budget(self) -> DailyLossBudget | None:
        if self.latest_day is None or self.latest_at is None:
            return None
        return loss_budget(self.latest_day, self.engine._risk.daily_loss_limit, self.latest_at)

    # --- the minute's fills ------------------------------------------------------------------

    def fills(self, at: datetime) -> None:
        """The broker at `at` (a minute's start, a recorded instant): our exits, entries, legs."""
        model, market = self.engine.fills, self.market
        for security_id, holding in list(self.holdings.items()):
            reason, placed = holding.order_type_of_exit, holding.exit_placed_at
            if reason is None or placed is None or holding.position.status is not Status.CLOSING:
                continue
            point = market.point(security_id, at) if model.can_exit(placed, at) else None
            price = model.market_exit(point) if point is not None else None
            if price is not None:
                self._sell_all(holding, price, at, reason)
        for order in self.orders:
            if not order.done:
                self._order_step(order, at)
        for security_id in self.holdings:
            point = market.point(security_id, at)
            if point is not None:
                market.marks[security_id] = market.mark(point, at)

    def _order_step(self, order: SuperOrder, at: datetime) -> None:
        """The entry's fill (once the broker has it), then its legs."""
        model = self.engine.fills
        point = self.market.point(order.security_id, at)
        if point is None:
            waiting = order.filled_at is None and order.unpriced_from is None
            if waiting and model.can_fill(order.placed_at, at):
                order.unpriced_from = at  # the broker has it; the data has no price of the contract
            return
        if order.filled_at is None:
            command = order.command
            price = (
                model.entry(command.order_type, command.entry_price, point)
                if model.can_fill(order.placed_at, at)
                else None
            )
            if price is None:
                return
            self._bought(order, price, at)
        if order.open_quantity > 0:
            fired = model.legs(order.command.stop_loss_price, order.command.target_price, point)
            if fired is not None:
                self._leg(order, fired[0], fired[1], at)

    def _event_id(self) -> str:
        self._events += 1
        return f"bt-{self.day:%Y%m%d}-{self._events}"

    def _bought(self, order: SuperOrder, price: Decimal, minute: datetime) -> None:
        command = order.command
        order.filled_at, order.fill_price, order.open_quantity = minute, price, command.quantity
        sid = order.security_id
        fill = tracker.booked(command.message_id, command.quantity, Side.BUY, command.quantity, price)
        holding = self.holdings.get(sid)
        if holding is None:
            position = tracker.opened(
                entry_order_id=command.message_id, security_id=sid, segment=command.contract.segment,
                underlying=command.underlying, net_quantity=command.quantity, average_price=price, at=minute,
                correlation_id=command.correlation_id, contract_realized=ZERO, fill=fill,
            )  # fmt: skip
            holding = self.holdings[sid] = _Holding(position)
        else:
            old = holding.position
            net = old.quantity + command.quantity
            average = (old.average_entry * old.quantity + price * command.quantity) / net
            holding.position = tracker.changed(
                old,
                net_quantity=net,
                average_price=average,
                contract_realized=old.contract_realized,
                fill=fill,
            )
        holding.buys += 1
        if order.unpriced_from is not None:
            holding.notes.append(
                f"entry filled at {minute:%H:%M:%S}, the contract's first price in the data; the broker "
                f"had the order from {order.unpriced_from:%H:%M:%S}"
            )
        self.market.marks.setdefault(sid, (price, minute))
        p = holding.position
        held = HeldPosition(sid, command.contract.segment.wire, p.underlying, command.contract.option_type,
                            p.quantity, p.average_entry)  # fmt: skip
        self.book.position_opened_or_grew(self._event_id(), held)

    def _leg(self, order: SuperOrder, reason: ExitReason, price: Decimal, minute: datetime) -> None:
        holding = self.holdings[order.security_id]
        quantity = min(order.open_quantity, holding.position.quantity)
        order.open_quantity, order.done = 0, True
        if quantity <= 0:
            return
        key = f"{order.command.message_id}-{reason.value}"
        fill = tracker.booked(key, quantity, Side.SELL, quantity, price)
        old = holding.position
        if quantity < old.quantity:
            holding.position = tracker.changed(
                old, net_quantity=old.quantity - quantity, average_price=old.average_entry,
                contract_realized=old.contract_realized, fill=fill,
            )  # fmt: skip
            p = holding.position
            held = HeldPosition(
                order.security_id, p.segment.wire, p.underlying, None, p.quantity, p.average_entry
            )
            self.book.position_opened_or_grew(self._event_id(), held)
            return
        self._closed(holding, fill, reason, minute)

    def _sell_all(
        self, holding: _Holding, price: Decimal, minute: datetime, reason: ExitReason, note: str = ""
    ) -> None:
        for order in self.orders:  # the exit protocol: the legs are cancelled first
            if order.security_id == holding.position.security_id and order.filled_at is not None:
                order.open_quantity, order.done = 0, True
        quantity = holding.position.quantity
        fill = tracker.booked(f"exit-{holding.position.entry_order_id}", quantity, Side.SELL, quantity, price)
        self._closed(holding, fill, reason, minute, note)

    def _closed(
        self,
        holding: _Holding,
        fill: tracker.BookedFill,
        reason: ExitReason,
        minute: datetime,
        note: str = "",
    ) -> None:
        position = tracker.closed(
            holding.position, contract_realized=ZERO, fill=fill, reason=reason, at=minute
        )
        del self.holdings[position.security_id]
        self.market.marks.pop(position.security_id, None)
        self.book.position_closed(self._event_id(), position.security_id, position.underlying)
        notes = [*holding.notes, *([note] if note else [])]
        self.result.trades.append(self._trade(position, holding.buys, "; ".join(notes)))
        self.closed.append(position)

    def _trade(self, position: TrackedPosition, buys: int, note: str) -> BacktestTrade:
        fills = position.trade_fills
        bought = [f for f in fills if f.side is Side.BUY]
        sold = [f for f in fills if f.side is Side.SELL]
        quantity = sum(f.quantity for f in bought)
        pnl = trade_pnl(fills, exchange_of(position.segment), self.day, self.engine.calculator)
        c = self.market.contract_of(position.security_id)
        underlying = c.underlying
        return BacktestTrade(
            day=self.day, underlying=underlying.value, security_id=position.security_id,
            contract=contract_name(underlying.value, c.strike, c.option_type.value, c.expiry),
            lots=quantity // c.lot_size,
            quantity=quantity, entries=buys, entry_at=position.opened_at,
            entry_price=sum((f.value for f in bought), ZERO) / quantity,
            exit_at=position.closed_at or position.opened_at,
            exit_price=sum((f.value for f in sold), ZERO) / sum(f.quantity for f in sold),
            exit_reason=(position.exit_reason or ExitReason.SQUARE_OFF).value,
            gross=pnl.realized, charges=pnl.charges, note=note,
        )  # fmt: skip

    # --- risk at a minute's close ------------------------------------------------------------

    def risk_check(self, now: datetime) -> None:
        rules = self.engine._risk
        for holding in list(self.holdings.values()):
            position = holding.position
            if position.status is not Status.OPEN:
                continue
            mark = self.market.marks.get(position.security_id)
            ltp = Ltp(mark[0], mark[1]) if mark is not None else None
            if self.halted:
                self._exit(holding, ExitReason.DAILY_LOSS, now)
                continue
            assessment = assess(position, ltp, rules, now, self._trail_pnl)
            holding.position = assessment.position
            if assessment.exit is not None:
                self._exit(holding, assessment.exit.reason, now)
        if not self.holdings and self.latest_day is not None and self._counted == len(self.closed):
            self.latest_at = now  # nothing held and nothing closed since: today's P&L stands
            return
        self._counted = len(self.closed)
        ltps = {
            h.position.contract: m[0]
            for h in self.holdings.values()
            if (m := self.market.marks.get(h.position.security_id))
        }
        positions = [*self.closed, *(h.position for h in self.holdings.values())]
        day = day_pnl(positions, ltps, self.engine.calculator, self.day)
        self.latest_day, self.latest_at = day, now
        if loss_limit_breached(day.pnl, rules) and not self.halted:
            self.halted = self.result.halted = True
            self.book.daily_loss_breached(self.day)
            for holding in list(self.holdings.values()):
                if holding.position.status is Status.OPEN:
                    self._exit(holding, ExitReason.DAILY_LOSS, now)

    def _trail_pnl(self, position: TrackedPosition, price: Decimal) -> Decimal:
        """The P&L the trail follows, on risk's configured basis (gross, or net of charges)."""
        return trail_pnl(position, price, self.engine._risk.pnl_basis, self.engine.calculator, self.day)

    def _exit(self, holding: _Holding, reason: ExitReason, now: datetime) -> None:
        holding.position = tracker.closing(holding.position, reason)
        holding.order_type_of_exit, holding.exit_placed_at = reason, now

    # --- a signal at a bar's end ---------------------------------------------------------------

    async def signal(
        self,
        decider: EntryDecider,
        underlying: Underlying,
        decision: TrendDecision,
        now: datetime,
        *,
        bar_end: datetime | None = None,
    ) -> None:
        """The signal signals publishes for a bar ending at `bar_end` (default `now`), decided by
        execution at `now`."""
        trend = self.engine._trend
        end = bar_end or now
        sid = signal_id(underlying, trend.strategy, end)
        assert decision.close is not None
        signal = Signal(
            message_id=sid, correlation_id=sid, event_time=now, underlying=underlying,
            strategy=trend.strategy, direction=decision.direction,
            interval=f"{self.engine.config.signals.bar_minutes}m",
            bar_close_time=end, close=decision.close, indicators=decision.indicator_decimals(),
        )  # fmt: skip
        self.result.signals += 1
        ttl = timedelta(seconds=self.engine.config.execution.pending_entry_ttl_seconds)
        self.book.expire_pending(now, ttl)
        decided = await decider.decide(signal, self.book, now)
        if decided.command is None or decided.pending is None:
            assert decided.refusal is not None
            self.result.refused[decided.refusal.gate.value] += 1
            return
        self.result.placed += 1
        self.book.record_entry(decided.pending)
        self.orders.append(SuperOrder(decided.command, placed_at=now))

    # --- the close ------------------------------------------------------------------------------

    def end(self, close_at: datetime) -> None:
        """Unfilled entries expire; anything still held (no price came for its exit) is closed at
        its last price, and says so."""
        for order in self.orders:
            if order.filled_at is None and not order.done:
                order.done = True
                self.result.unfilled += 1
        for holding in list(self.holdings.values()):
            mark = self.market.marks.get(holding.position.security_id)
            price = mark[0] if mark is not None else holding.position.average_entry
            reason = holding.order_type_of_exit or ExitReason.SQUARE_OFF
            self._sell_all(
                holding, price, close_at, reason, note="no bar after the exit: sold at the last price seen"
            )


def trading_days(calendar: MarketCalendar, first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if calendar.is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def as_ist(at: datetime) -> datetime:
    return at.astimezone(IST)


__all__ = ["BacktestTrade", "Config", "DayResult", "Engine", "HistoryError", "trading_days"]
