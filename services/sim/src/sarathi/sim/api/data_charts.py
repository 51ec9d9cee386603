"""Candles for `/charts/historical` and `/charts/intraday` (REFERENCE §7) as parallel arrays.

Timestamps are true UTC epochs: intraday bars at their start (09:15 IST = 03:45Z), daily bars at
00:00 IST. Only sessions up to the sim clock's `now` exist; today's bars run up to `now`.
Days outside the holiday table, holidays and days an option was not listed give no bars.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sarathi.common.domain.calendar import IST, CalendarCoverageError, MarketCalendar
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.bars import Candle, daily_candle, intraday_candles
from sarathi.sim.market.model import MarketModel
from sarathi.sim.market.paths import SESSION_SECONDS

INTRADAY_MAX_DAYS = 90
# How long before its expiry a contract has history (UNVERIFIED simplification: real weeklies list
# a few weeks ahead, monthlies about three months).
LISTED_DAYS_BEFORE_EXPIRY = 100


def empty_arrays() -> dict[str, list[Any]]:
    keys = ("open", "high", "low", "close", "volume", "timestamp", "open_interest")
    return {key: [] for key in keys}


def to_arrays(candles: list[Candle], with_oi: bool) -> dict[str, list[Any]]:
    return {
        "open": [float(c.open) for c in candles],  # Decimal → JSON float at the edge
        "high": [float(c.high) for c in candles],
        "low": [float(c.low) for c in candles],
        "close": [float(c.close) for c in candles],
        "volume": [c.volume for c in candles],
        "timestamp": [c.start_epoch for c in candles],
        "open_interest": [c.oi if with_oi else 0 for c in candles],
    }


def trading_sessions(
    calendar: MarketCalendar, instrument: SimInstrument, first: date, last: date, now: datetime
) -> list[tuple[date, int]]:
    """(trading day, last grid second known) for each session in [first, last] up to `now`."""
    exchange = instrument.underlying.spec.exchange
    local_now = now.astimezone(IST)
    if instrument.expiry is not None:
        first = max(first, instrument.expiry - timedelta(days=LISTED_DAYS_BEFORE_EXPIRY))
        last = min(last, instrument.expiry)
    last = min(last, local_now.date())
    found: list[tuple[date, int]] = []
    day = first
    while day <= last:
        try:  # a session needs its previous close too, so the table's first day has no bars
            trading = calendar.is_trading_day(day, exchange)
            trading = trading and calendar.previous_trading_day(day, exchange) < day
        except CalendarCoverageError:
            trading = False
        if trading:
            elapsed = (local_now - calendar.session_open(day, exchange)).total_seconds()
            if elapsed >= 0:
                found.append((day, min(SESSION_SECONDS, int(elapsed))))
        day += timedelta(days=1)
    return found


def daily_arrays(
    market: MarketModel,
    instrument: SimInstrument,
    *,
    first: date,
    end_exclusive: date,
    now: datetime,
    oi: bool,
) -> dict[str, list[Any]]:
    """Daily bars for trading days first <= day < end_exclusive (toDate is exclusive, §7.1)."""
    candles = []
    last = end_exclusive - timedelta(days=1)
    for day, until in trading_sessions(market.calendar, instrument, first, last, now):
        series = market.day_series(instrument, day)
        midnight = int(datetime.combine(day, time(0), tzinfo=IST).timestamp())
        candles.append(daily_candle(series, midnight, until, instrument.is_index))
    return to_arrays(candles, oi and not instrument.is_index)


def intraday_arrays(
    market: MarketModel,
    instrument: SimInstrument,
    *,
    start: datetime,
    end: datetime,
    interval: int,
    now: datetime,
    oi: bool,
) -> dict[str, list[Any]]:
    """Bars starting in [start, end); the current day runs to `now` whatever `end` says
    (Dhan: "for the current day, we send all the packets till the current time", issue #80)."""
    today = now.astimezone(IST).date()
    start_epoch, end_epoch = start.timestamp(), end.timestamp()
    first_day = start.astimezone(IST).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(IST).date()  # `end` is exclusive
    candles: list[Candle] = []
    for day, until in trading_sessions(market.calendar, instrument, first_day, last_day, now):
        series = market.day_series(instrument, day)
        for candle in intraday_candles(series, interval, until, instrument.is_index):
            if candle.start_epoch >= start_epoch and (candle.start_epoch < end_epoch or day == today):
                candles.append(candle)
    return to_arrays(candles, oi and not instrument.is_index)
