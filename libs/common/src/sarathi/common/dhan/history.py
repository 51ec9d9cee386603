"""Dhan's history endpoints, typed: index minute bars and expired options by ATM offset.

- `POST /charts/intraday` (REFERENCE §7.2–7.3): parallel arrays, true UTC epochs at bar start; at
  most 90 days a request; an unknown id or a holiday answers 200 with empty arrays.
- `POST /charts/rollingoption` (§7.4): `{"data": {"ce": {...}, "pe": null}}`, only the asked side;
  `expiryCode` 1 is the nearest (0 is refused live); labels `ATM`, `ATM±1..10`; the label is
  re-evaluated every minute, so the `strike` array says which contract each bar is. At most 30
  days a request (Dhan's docs; the Ruby client allows 31: we ask at most 30). `toDate` is taken as
  exclusive (the Ruby client's word, UNVERIFIED), so a window is asked as [first, last + 1 day).

Both count in Dhan's data-API limits (5/s, 100,000/day: `Category.DATA` of `DhanRest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from sarathi.common.dhan.replies import INTRADAY
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.schemas import Int, Num, parse
from sarathi.common.domain.instruments import OptionType, Underlying

INTRADAY_MAX_DAYS = 90
ROLLING_MAX_DAYS = 30  # the strictest of Dhan's docs (30) and the Ruby client (31)
ROLLING_MAX_OFFSET = 10  # ATM±10 for the nearest index expiry
ROLLING_FIELDS = ("open", "high", "low", "close", "iv", "volume", "strike", "oi", "spot")
ExpiryFlag = Literal["WEEK", "MONTH"]


class _Arrays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class IntradayBars(_Arrays):
    """`/charts/intraday`'s body (venue schema)."""

    open: list[Num] = []
    high: list[Num] = []
    low: list[Num] = []
    close: list[Num] = []
    volume: list[Int] = []
    timestamp: list[Int] = []
    open_interest: list[Int] = []


class RollingSeries(_Arrays):
    """One side of `/charts/rollingoption`'s body (venue schema)."""

    open: list[Num] = []
    high: list[Num] = []
    low: list[Num] = []
    close: list[Num] = []
    iv: list[Num] = []
    volume: list[Int] = []
    oi: list[Int] = []
    strike: list[Num] = []
    spot: list[Num] = []
    timestamp: list[Int] = []


class _RollingSides(_Arrays):
    ce: RollingSeries | None = None
    pe: RollingSeries | None = None


class _RollingBody(_Arrays):
    data: _RollingSides | None = None


@dataclass(frozen=True, slots=True)
class RollingKey:
    """One rolling series: the `code`-th `flag` expiry, `offset` strikes from ATM, one side."""

    flag: ExpiryFlag
    code: int
    offset: int
    option_type: OptionType

    @property
    def label(self) -> str:
        return "ATM" if self.offset == 0 else f"ATM{self.offset:+d}"


class HistorySource(Protocol):
    """What a history download asks: `DhanHistory`, or the sim's model in process (`ModelHistory`)."""

    async def intraday(
        self, underlying: Underlying, first: date, last: date, interval: int = 1
    ) -> IntradayBars: ...

    async def rolling_option(
        self, underlying: Underlying, key: RollingKey, first: date, last: date, interval: int = 1
    ) -> RollingSeries: ...


def check_intraday_span(first: date, last: date) -> None:
    """Refuse what Dhan refuses: more than `INTRADAY_MAX_DAYS` of intraday bars in one request."""
    if (last - first).days > INTRADAY_MAX_DAYS:
        raise ValueError(f"intraday history is asked {INTRADAY_MAX_DAYS} days at a time")


def check_rolling_span(first: date, last: date) -> None:
    """Refuse what Dhan refuses: more than `ROLLING_MAX_DAYS` sessions of expired options at once."""
    if (last - first).days + 1 > ROLLING_MAX_DAYS:
        raise ValueError(f"expired options are asked {ROLLING_MAX_DAYS} days at a time")


class DhanHistory:
    """Typed history calls over `DhanRest` (its data-API limits apply)."""

    def __init__(self, rest: DhanRest) -> None:
        self._rest = rest

    async def intraday(
        self, underlying: Underlying, first: date, last: date, interval: int = 1
    ) -> IntradayBars:
        """The index's bars of the sessions first..last (both included)."""
        check_intraday_span(first, last)
        spec = underlying.spec
        request = {"underlying": underlying.value, "from": first.isoformat(), "to": last.isoformat(),
                   "interval": interval}  # fmt: skip
        body = await self._rest.call(
            Category.DATA,
            lambda sdk: sdk.intraday_minute_data(
                spec.security_id, "IDX_I", "INDEX", f"{first} 09:15:00", f"{last} 15:30:00", interval=interval
            ),
            changes_state=False,
            record=(INTRADAY, request),
        )
        return parse(IntradayBars, body)

    async def rolling_option(
        self, underlying: Underlying, key: RollingKey, first: date, last: date, interval: int = 1
    ) -> RollingSeries:
        """The series `key` over the sessions first..last (both included); empty when none."""
        check_rolling_span(first, last)
        if key.code < 1 or abs(key.offset) > ROLLING_MAX_OFFSET:
            raise ValueError(f"no rolling series {key}")
        spec = underlying.spec
        side = "CALL" if key.option_type is OptionType.CALL else "PUT"
        end = last + timedelta(days=1)  # toDate exclusive (UNVERIFIED)
        body = await self._rest.call(
            Category.DATA,
            lambda sdk: sdk.expired_options_data(
                int(spec.security_id),
                spec.fno_segment.wire,
                "OPTIDX",
                key.flag,
                key.code,
                key.label,
                side,
                list(ROLLING_FIELDS),
                f"{first}",
                f"{end}",
                interval=interval,
            ),
            changes_state=False,
        )
        sides = parse(_RollingBody, body).data
        found = None if sides is None else (sides.ce if key.option_type is OptionType.CALL else sides.pe)
        return found or RollingSeries()


def price(value: Decimal | None) -> Decimal | None:
    """A price from Dhan's float, on the paisa (options are on the ₹0.05 tick already)."""
    return None if value is None else value.quantize(Decimal("0.01"))
