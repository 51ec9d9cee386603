"""Warm-up history: the index's intraday 5-minute candles from Dhan, as closed bars (the call
and its schema: `sarathi.common.dhan.history`).

Dhan's `/charts/intraday` answers parallel arrays with true UTC epochs stamped at bar START
(REFERENCE §7.2–7.3); an unknown id or a holiday gives empty arrays. Only bars that have ended
by `now` are kept: the forming bar of the current session belongs to the live builder.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sarathi.common.dhan.history import DhanHistory, IntradayBars
from sarathi.common.dhan.rest import DhanRest
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.domain import ClosedBar

DHAN_INTERVALS = (1, 5, 15, 25, 60)


def to_closed_bars(
    candles: IntradayBars, underlying: Underlying, minutes: int, now: datetime
) -> list[ClosedBar]:
    """Candles that have ended by `now`, as bars (prices on the paisa, times in IST); a candle
    with a price missing is no bar."""
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
        prices = [column[i] for column in columns]
        if any(p is None for p in prices):
            continue
        o, h, low, c = (p.quantize(Decimal("0.01")) for p in prices if p is not None)
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
    candles = await DhanHistory(rest).intraday(underlying, first, last, interval=minutes)
    return to_closed_bars(candles, underlying, minutes, now)
