"""What the rest of the sim asks of the market: a quote per instrument at a market instant.

The paper broker fills against `Quote.bid`/`Quote.ask`; the feed server encodes quotes into
Dhan packets; the REST data endpoints answer from them. The market model behind this port is
deterministic: the same seed and instant give the same quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sarathi.common.domain.instruments import Underlying
from sarathi.sim.instruments import SimInstrument, Universe


@dataclass(frozen=True, slots=True)
class Greeks:
    delta: Decimal
    gamma: Decimal
    theta: Decimal
    vega: Decimal


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One level of the five-level book (REFERENCE §6.5 full packet, §6.10 quote depth)."""

    price: Decimal  # 0 for an empty level
    quantity: int  # units
    orders: int


@dataclass(frozen=True, slots=True)
class Quote:
    """A snapshot of one instrument. Option prices are on the instrument's tick; index levels on the paisa."""

    security_id: str
    at: datetime  # market time of the snapshot (aware)
    ltp: Decimal
    last_trade_time: datetime
    last_qty: int
    bid: Decimal  # 0 for an index
    ask: Decimal  # 0 for an index
    bid_qty: int
    ask_qty: int
    volume: int  # day volume, units
    oi: int  # units; 0 for an index
    open: Decimal
    high: Decimal
    low: Decimal
    prev_close: Decimal
    prev_oi: int
    average_price: Decimal
    iv: Decimal | None = None  # percent; None for an index
    greeks: Greeks | None = None
    prev_volume: int = 0  # the previous session's whole-day volume, units
    bid_depth: tuple[DepthLevel, ...] = ()  # best first; empty for an index
    ask_depth: tuple[DepthLevel, ...] = ()  # best first; empty for an index


class MarketView(Protocol):
    """The market at market instants."""

    @property
    def universe(self) -> Universe: ...

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        """The instrument's quote at `at` (deterministic for a seed)."""
        ...

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        """The index level at `at`."""
        ...
