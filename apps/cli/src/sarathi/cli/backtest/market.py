"""Execution's ports (`Chains`, `DerivativeLookup`, latest ticks) answered from minute history.

At market time `now` (a minute's close) the engine knows the minutes that ended by `now`. The
option chain of an expiry is built from the last such minute of the rolling rows:

- `ltp` is the minute's close; `bid` = `ask` = the close: the history has no order book, so the
  bid/ask spread filter (`max_spread_ratio`) passes every strike — it CANNOT be applied;
- `oi` is the minute's open interest; `volume` is the day's volume of that strike so far, summed
  over the minutes the strike was inside the downloaded ATM±N window (less than Dhan's day volume
  when it drifted out);
- `delta` is Black–Scholes' (r = 0, no dividend) from the row's IV, the spot and the time left to
  the expiry's 15:30 IST close, because the history has IV but no greeks. Dhan's own delta
  (REFERENCE §8.2) comes from its own model; ours may differ at the band's edges.

Contracts get numeric ids made here (`contract_id`), unique within a backtest; the lot size is
the underlying's default (`UnderlyingSpec.default_lot_size`: the history has no master, and lot
sizes change twice a year), the freeze quantity unknown (no freeze cap in sizing).
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sarathi.cli.backtest.history import DayData, SeriesKey
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import (
    Contract,
    ContractKey,
    ExchangeSegment,
    OptionType,
    SecurityId,
    Underlying,
)
from sarathi.common.domain.money import OPTION_TICK
from sarathi.common.messages.market import Tick
from sarathi.execution.adapters.chain_cache import ChainUnavailableError
from sarathi.execution.adapters.derivatives import ListedContract
from sarathi.execution.domain.chain import OptionChain, OptionQuote

SECONDS_PER_YEAR = 365.0 * 86_400.0
EXPIRY_CLOSE = time(15, 30)
NOT_APPLIED = (
    "bid/ask spread (max_spread_ratio): the history has no order book; bid = ask = the minute's close",
)


def bs_delta(option_type: OptionType, spot: float, strike: float, iv_percent: float, years: float) -> Decimal:
    """Black–Scholes delta (r = 0) to four places; intrinsic (1/0 or 0/−1) without IV or time."""
    sigma = iv_percent / 100.0
    if sigma <= 0 or years <= 0 or spot <= 0 or strike <= 0:
        itm = spot > strike if option_type is OptionType.CALL else spot < strike
        value = (1.0 if itm else 0.0) * (1 if option_type is OptionType.CALL else -1)
    else:
        d1 = (math.log(spot / strike) + 0.5 * sigma * sigma * years) / (sigma * math.sqrt(years))
        n = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
        value = n if option_type is OptionType.CALL else n - 1.0
    return Decimal(repr(round(value, 4)))


class Contracts:
    """Numeric ids for the contracts of a backtest, both ways."""

    def __init__(self) -> None:
        self._ids: dict[tuple[Underlying, date, OptionType, Decimal], str] = {}
        self._keys: dict[str, tuple[Underlying, date, OptionType, Decimal]] = {}

    def contract_id(self, underlying: Underlying, expiry: date, side: OptionType, strike: Decimal) -> str:
        key = (underlying, expiry, side, strike)
        found = self._ids.get(key)
        if found is None:
            found = str(900_000_000 + len(self._ids))
            self._ids[key], self._keys[found] = found, key
        return found

    def key_of(self, security_id: str) -> tuple[Underlying, date, OptionType, Decimal] | None:
        return self._keys.get(security_id)

    def listed(self, security_id: str) -> ListedContract | None:
        key = self._keys.get(security_id)
        if key is None:
            return None
        underlying, expiry, side, strike = key
        spec = underlying.spec
        contract = Contract(
            security_id=SecurityId(security_id), segment=spec.fno_segment, underlying=underlying,
            expiry=expiry, strike=strike, option_type=side, lot_size=spec.default_lot_size,
            tick_size=OPTION_TICK,
        )  # fmt: skip
        return ListedContract(contract, None)


class HistoryMarket:
    """The ports execution's `EntryDecider` reads, over one trading day of every underlying."""

    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts
        self.days: dict[Underlying, DayData] = {}
        self.now: datetime | None = None
        self.marks: dict[str, tuple[Decimal, datetime]] = {}  # held contracts: last close, when

    # --- DerivativeLookup ---------------------------------------------------------------------

    async def expiries(self, underlying: Underlying) -> list[date]:
        day = self.days.get(underlying)
        return day.expiries if day is not None else []

    async def contract(self, underlying: Underlying, expiry: date, security_id: str) -> ListedContract | None:
        listed = self.contracts.listed(security_id)
        if listed is None or listed.contract.underlying is not underlying or listed.contract.expiry != expiry:
            return None
        return listed

    async def by_security_id(self, underlying: Underlying, security_id: str) -> ListedContract | None:
        return self.contracts.listed(security_id)

    # --- Chains ----------------------------------------------------------------------------------

    async def get(self, underlying: Underlying, expiry: Any) -> OptionChain:
        now = self._now()
        day = self.days.get(underlying)
        if day is None:
            raise ChainUnavailableError(f"no {underlying} history on {now.date()}")
        rows = day.minute_rows(expiry, now - timedelta(minutes=1))
        if not rows:
            raise ChainUnavailableError(
                f"no {underlying} {expiry} option rows in the minute before {now:%H:%M}"
            )
        years = (
            max((datetime.combine(expiry, EXPIRY_CLOSE, tzinfo=IST) - now).total_seconds(), 0)
            / SECONDS_PER_YEAR
        )
        quotes = []
        seen: set[tuple[str, Decimal]] = set()
        for r in rows:
            side = OptionType(r["option_type"])
            if (side.value, r["strike"]) in seen or r["close"] is None or r["close"] <= 0:
                continue
            seen.add((side.value, r["strike"]))
            price = r["close"]
            quotes.append(
                OptionQuote(
                    strike=r["strike"], option_type=side,
                    security_id=SecurityId(self.contracts.contract_id(underlying, expiry, side, r["strike"])),
                    bid=price, ask=price, ltp=price, oi=int(r["oi"] or 0),
                    volume=int(r["day_volume"] or 0),
                    delta=bs_delta(side, float(r["spot"]), float(r["strike"]), float(r["iv"] or 0.0), years),
                )
            )  # fmt: skip
        spot = rows[0]["spot"]
        return OptionChain(underlying, expiry, spot, tuple(quotes), now)

    # --- latest ticks ------------------------------------------------------------------------------

    async def latest(self, keys: list[ContractKey]) -> dict[ContractKey, Tick]:
        """The index's last minute close and each held contract's, as ticks received at `now`
        (the contract's at the minute it was last seen)."""
        now = self._now()
        found: dict[ContractKey, Tick] = {}
        for key in keys:
            segment, security_id = key.segment, key.security_id
            if segment is ExchangeSegment.IDX_I:
                for underlying, day in self.days.items():
                    if underlying.spec.security_id == security_id:
                        bar = _last_minute(day, now)
                        if bar is not None:
                            found[key] = _tick(segment, security_id, bar.close, bar.end)
            elif security_id in self.marks:
                price, at = self.marks[security_id]
                found[key] = _tick(segment, security_id, price, at)
        return found

    # --- the books' view (`engine.Market`) ---------------------------------------------------------

    def point(self, security_id: str, at: datetime) -> Any | None:
        """The minute bar of `security_id` that starts at `at`."""
        return self.series_of(security_id).get(at)

    @staticmethod
    def mark(point: Any, at: datetime) -> tuple[Decimal, datetime]:
        return point.close, at + timedelta(minutes=1)

    def contract_of(self, security_id: str) -> Contract:
        listed = self.contracts.listed(security_id)
        if listed is None:
            raise KeyError(f"no backtest contract {security_id}")
        return listed.contract

    def series_of(self, security_id: str) -> dict[datetime, Any]:
        key = self.contracts.key_of(security_id)
        if key is None:
            return {}
        underlying, expiry, side, strike = key
        day = self.days.get(underlying)
        series_key: SeriesKey = (expiry, side, strike)
        return day.series(series_key) if day is not None else {}

    def _now(self) -> datetime:
        if self.now is None:
            raise RuntimeError("the backtest market has no time yet")
        return self.now


def _last_minute(day: DayData, now: datetime) -> Any:
    last = None
    for bar in day.minutes:
        if bar.end > now:
            break
        last = bar
    return last


def _tick(segment: ExchangeSegment, security_id: str, price: Decimal, at: datetime) -> Tick:
    return Tick(
        message_id=f"bt-{security_id}-{at:%H%M}", correlation_id="backtest", event_time=at,
        segment=segment, security_id=SecurityId(security_id), ltp=price, exchange_time=at, received_at=at,
    )  # fmt: skip
