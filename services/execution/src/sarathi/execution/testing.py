"""Builders and in-memory ports for the execution service's tests and benchmark (no I/O).

`a_chain_body` writes Dhan's `/optionchain` JSON for a ladder of strikes around a level, so the
venue parser is exercised too; `MemoryDerivatives` is the Derivative table in memory, listing
exactly the ids of such a chain; `serve_snapshots` answers `feed.snapshot` like the feed's cache;
`a_loss_budget` is the figure risk writes to KV `control`/`daily_loss_budget` after each check;
`MemoryDecisionStore` is the decisions port in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, Subscription
from sarathi.common.clock import IST
from sarathi.common.domain.instruments import (
    Contract,
    ContractKey,
    ExchangeSegment,
    OptionType,
    SecurityId,
    Underlying,
)
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.base import Message, new_message_id
from sarathi.common.messages.market import Tick, TickSnapshot, TickSnapshotRequest
from sarathi.common.messages.risk import DailyLossBudget
from sarathi.common.messages.signals import Signal
from sarathi.execution.adapters.decisions import DecisionRecord
from sarathi.execution.adapters.derivatives import ListedContract, ListedContracts


def security_id_of(underlying: Underlying, expiry: date, strike: Decimal, option_type: OptionType) -> str:
    """A deterministic id for a test contract."""
    side = 1 if option_type is OptionType.CALL else 2
    return f"{list(Underlying).index(underlying) + 1}{expiry:%m%d}{int(strike):06d}{side}"


def a_chain_body(
    underlying: Underlying, expiry: date, level: Decimal, *, strikes_each_side: int = 5, liquid: bool = True
) -> dict[str, Any]:
    """Dhan's chain JSON: ATM is most traded, liquidity falls away from it; delta ~0.5 at ATM."""
    step = underlying.spec.strike_step
    atm = (level / step).to_integral_value() * step
    rows: dict[str, Any] = {}
    for offset in range(-strikes_each_side, strikes_each_side + 1):
        strike = atm + offset * step
        rows[f"{strike:.6f}"] = {
            side: _side(underlying, expiry, strike, option_type, level=level, liquid=liquid)
            for side, option_type in (("ce", OptionType.CALL), ("pe", OptionType.PUT))
        }
    return {"data": {"last_price": float(level), "oc": rows}, "status": "success"}


def _side(
    underlying: Underlying,
    expiry: date,
    strike: Decimal,
    option_type: OptionType,
    *,
    level: Decimal,
    liquid: bool,
) -> dict[str, Any]:
    moneyness = float((level - strike) / underlying.spec.strike_step)
    if option_type is OptionType.PUT:
        moneyness = -moneyness
    delta = max(0.02, min(0.98, 0.5 + 0.1 * moneyness))
    premium = max(1.0, round(100 + 40 * moneyness, 1))
    distance = abs(moneyness)
    volume = int(2_000_000 / (1 + distance)) if liquid else 500
    return {
        "security_id": int(security_id_of(underlying, expiry, strike, option_type)),
        "last_price": premium, "top_bid_price": premium - 0.05, "top_ask_price": premium + 0.05,
        "oi": int(5_000_000 / (1 + distance)) if liquid else 1000, "volume": volume,
        "greeks": {"delta": delta if option_type is OptionType.CALL else -delta},
    }  # fmt: skip


@dataclass
class FakeChainSource:
    """Serves chain bodies from a dict; counts fetches."""

    bodies: dict[tuple[Underlying, date], Any]
    fetches: int = 0

    async def fetch(self, underlying: Underlying, expiry: date) -> Any:
        self.fetches += 1
        return self.bodies[(underlying, expiry)]


class MemoryDerivatives(ListedContracts):
    """The Derivative table in memory, filled from option chain bodies."""

    @classmethod
    def of_chain(
        cls, underlying: Underlying, expiry: date, body: dict[str, Any], lot_size: int
    ) -> MemoryDerivatives:
        table = cls()
        table.add_chain(underlying, expiry, body, lot_size)
        return table

    def add_chain(self, underlying: Underlying, expiry: date, body: dict[str, Any], lot_size: int) -> None:
        for key, row in body["data"]["oc"].items():
            for side, option_type in (("ce", OptionType.CALL), ("pe", OptionType.PUT)):
                contract = Contract(
                    SecurityId(str(row[side]["security_id"])), underlying.spec.fno_segment, underlying,
                    expiry,
                    Decimal(key).quantize(Decimal("0.0001")), option_type, lot_size, Decimal("0.05"),
                )  # fmt: skip
                self.add(ListedContract(contract, None))


def a_signal(
    underlying: Underlying,
    bar_close: datetime,
    direction: Direction = Direction.BULLISH,
    strategy: str = "st_rsi_adx",
) -> Signal:
    sid = f"{underlying.value}-{strategy}-{bar_close:%Y%m%dT%H%M}"
    return Signal(
        message_id=sid, correlation_id=sid, event_time=bar_close, underlying=underlying, strategy=strategy,
        direction=direction, interval="5m", bar_close_time=bar_close, close=Decimal("24012.45"),
        indicators={"rsi": Decimal("61.2")},
    )  # fmt: skip


def a_loss_budget(
    at: datetime, *, net_pnl: Decimal = Decimal(0), limit: Decimal = Decimal(5000)
) -> DailyLossBudget:
    """Risk's figure at market time `at`: today's net P&L against the daily loss limit."""
    return DailyLossBudget(
        message_id=f"budget-{at:%Y%m%dT%H%M%S}", correlation_id="daily-loss", event_time=at,
        trading_day=at.astimezone(IST).date(), net_pnl=net_pnl, loss_limit=limit,
        remaining=max(limit + net_pnl, Decimal(0)),
    )  # fmt: skip


def an_index_tick(underlying: Underlying, level: Decimal, at: datetime) -> Tick:
    return Tick(
        message_id=new_message_id(), correlation_id="feed", event_time=at, segment=ExchangeSegment.IDX_I,
        security_id=underlying.spec.security_id, ltp=level, exchange_time=at, received_at=at,
    )  # fmt: skip


@dataclass
class SnapshotServer:
    """What the feed's cache would answer: the ticks in `ticks`, by (segment, security id)."""

    ticks: dict[ContractKey, Tick] = field(default_factory=dict)

    def put(self, tick: Tick) -> None:
        self.ticks[ContractKey(tick.segment, tick.security_id)] = tick

    async def answer(self, message: TickSnapshotRequest) -> Message:
        found = [self.ticks[ContractKey(i.segment, i.security_id)] for i in message.instruments
                 if ContractKey(i.segment, i.security_id) in self.ticks]  # fmt: skip
        missing = tuple(
            i for i in message.instruments if ContractKey(i.segment, i.security_id) not in self.ticks
        )
        return TickSnapshot(
            message_id=new_message_id(), correlation_id=message.correlation_id, event_time=message.event_time,
            ticks=tuple(found), missing=missing,
        )  # fmt: skip

    async def serve(self, bus: Bus) -> Subscription:
        return await bus.serve(subjects.FEED_SNAPSHOT, self.answer, accepts=TickSnapshotRequest)


class MemoryDecisionStore:
    """The decisions port in memory: service tests and the benchmark."""

    def __init__(self) -> None:
        self.records: list[DecisionRecord] = []

    async def find(self, signal_id: str) -> DecisionRecord | None:
        return next((r for r in self.records if r.signal_id == signal_id), None)

    async def for_command(self, command_id: str) -> list[DecisionRecord]:
        return [r for r in self.records if r.command_id == command_id]

    async def save(self, record: DecisionRecord) -> None:
        self.records.append(record)

    async def recent(self, underlying: Underlying | None, limit: int) -> list[DecisionRecord]:
        chosen = [r for r in self.records if underlying is None or r.underlying is underlying]
        return sorted(chosen, key=lambda r: r.decided_at, reverse=True)[:limit]
