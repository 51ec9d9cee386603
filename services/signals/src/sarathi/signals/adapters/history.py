"""Warm-up history: the index's intraday 5-minute candles from Dhan, as closed bars.

Dhan's `/charts/intraday` answers parallel arrays with true UTC epochs stamped at bar START
(REFERENCE §7.2–7.3); an unknown id or a holiday gives empty arrays. Only bars that have ended
by `now` are kept: the forming bar of the current session belongs to the live builder.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.domain import ClosedBar

DHAN_INTERVALS = (1, 5, 15, 25, 60)


class IntradayCandles(BaseModel):
    """Dhan's intraday chart body (venue schema): parallel arrays."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    open: list[Decimal] = []
    high: list[Decimal] = []
    low: list[Decimal] = []
    close: list[Decimal] = []
    volume: list[int] = []
    timestamp: list[int] = []


def to_closed_bars(
    candles: IntradayCandles, underlying: Underlying, minutes: int, now: datetime
) -> list[ClosedBar]:
    """Candles that have ended by `now`, as bars (prices on the paisa, times in IST)."""
    size = len(candles.timestamp)
    columns = (candles.open, candles.high, candles.low, candles.close)
    if any(len(column) != size for column in columns):
        raise ValueError("intraday candle arrays differ in length")
    bars = []
    for i in range(size):
        start = datetime.fromtimestamp(candles.timestamp[i], UTC).astimezone(IST)
        end = start + timedelta(minutes=minutes)
        if end > now:
            continue
        o, h, low, c = (column[i].quantize(Decimal("0.01")) for column in columns)
        volume = candles.volume[i] if i < len(candles.volume) else 0
        bars.append(ClosedBar(underlying, start, end, o, h, low, c, tick_count=0, volume=volume))
    return bars


def warm_up_window(calendar: MarketCalendar, today: date, trading_days: int) -> tuple[date, date]:
    """From the start of the `trading_days`-th trading day back, to today (inclusive)."""
    first = today
    for _ in range(trading_days):
        first = calendar.previous_trading_day(first)
    return first, today


async def fetch_history(
    rest: DhanRest,
    calendar: MarketCalendar,
    underlying: Underlying,
    *,
    minutes: int,
    now: datetime,
    trading_days: int,
) -> list[ClosedBar]:
    if minutes not in DHAN_INTERVALS:
        raise ValueError(f"Dhan serves intraday bars of {DHAN_INTERVALS} minutes, not {minutes}")
    first, last = warm_up_window(calendar, now.astimezone(IST).date(), trading_days)
    spec = underlying.spec
    body = await rest.call(
        Category.DATA,
        lambda sdk: sdk.intraday_minute_data(
            spec.security_id,
            "IDX_I",
            "INDEX",
            f"{first:%Y-%m-%d}",
            f"{last:%Y-%m-%d} 15:30:00",
            interval=minutes,
        ),
        changes_state=False,
    )
    return to_closed_bars(IntradayCandles.model_validate(body), underlying, minutes, now)
