"""The option chain as the domain sees it: one quote per (strike, side), Decimal prices, market time.

Built from Dhan's reply by `adapters.dhan_chain.parse_chain`; nothing here knows Dhan's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sarathi.common.domain.instruments import OptionType, SecurityId, Underlying


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One side of one strike: the contract's id, its top of book and its liquidity."""

    strike: Decimal
    option_type: OptionType
    security_id: SecurityId
    bid: Decimal
    ask: Decimal
    ltp: Decimal
    oi: int
    volume: int
    delta: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread_ratio(self) -> Decimal | None:
        """(ask − bid) / mid, or None when there is no two-sided market."""
        if self.bid <= 0 or self.ask <= 0 or self.ask < self.bid:
            return None
        return (self.ask - self.bid) / self.mid


@dataclass(frozen=True, slots=True)
class OptionChain:
    """The chain of one underlying and expiry, as fetched at `fetched_at` (market time)."""

    underlying: Underlying
    expiry: date
    underlying_price: Decimal
    quotes: tuple[OptionQuote, ...]
    fetched_at: datetime

    def side(self, option_type: OptionType) -> list[OptionQuote]:
        return [q for q in self.quotes if q.option_type is option_type]

    def quote_of(self, security_id: str) -> OptionQuote | None:
        return next((q for q in self.quotes if q.security_id == security_id), None)

    def atm_strike(self) -> Decimal | None:
        """The listed strike nearest the underlying price (the lower one on a tie)."""
        strikes = sorted({q.strike for q in self.quotes})
        if not strikes:
            return None
        return min(strikes, key=lambda s: (abs(s - self.underlying_price), s))

    def age_seconds(self, now: datetime) -> float:
        return (now - self.fetched_at).total_seconds()
