"""`sarathi data download`: Dhan's index minute bars and expired options into the Parquet cache.

For each underlying and month of the range: the index's bars (`/charts/intraday`, one request
for the month's missing days) and every rolling series asked for (`/charts/rollingoption`: each
expiry flag, ATM−N..ATM+N, CE and PE, in windows of at most 30 days). Only days not yet asked
are asked (`datastore`); days that cannot have a session (weekends, the calendar's holidays) are
recorded as asked without a request. The month is written once its requests are done (and on
interruption, with what came). Limits: `DhanRest`'s `Category.DATA` (5/s, 100,000/day); a
rate-limited or transient failure is tried again after a pause, five times at most.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from sarathi.cli.datastore import INDEX_SCHEMA, OPTIONS_SCHEMA, MonthFile, month_of
from sarathi.common.backoff import Backoff
from sarathi.common.dhan.errors import DhanRateLimitedError, DhanTransientError
from sarathi.common.dhan.history import (
    INTRADAY_MAX_DAYS,
    ROLLING_MAX_DAYS,
    HistorySource,
    IntradayBars,
    RollingKey,
    RollingSeries,
    price,
)
from sarathi.common.domain.calendar import CalendarCoverageError, MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying

RETRY = Backoff(initial_seconds=1.0, cap_seconds=8.0, max_attempts=5)  # a 429 or a transient failure


@dataclass(frozen=True, slots=True)
class Request:
    underlying: Underlying
    kind: str  # index | options
    first: date
    last: date
    key: RollingKey | None = None  # options only

    @property
    def series(self) -> str:
        key = self.key
        return "index" if key is None else f"{key.flag}/{key.code}/{key.label}/{key.option_type.value}"

    def describe(self) -> str:
        what = "index" if self.key is None else f"{self.series.replace('/', ' ')}"
        return f"{self.underlying} {self.first}..{self.last} {what}"


@dataclass
class MonthPlan:
    file: MonthFile
    requests: list[Request]
    asked: dict[str, set[date]]  # updated as requests succeed


@dataclass
class Stats:
    requests: int = 0
    rows: int = 0
    months: int = 0
    empty: int = 0
    retries: int = 0
    done: list[str] = field(default_factory=list)


def rolling_keys(flags: tuple[str, ...], codes: tuple[int, ...], strikes: int) -> list[RollingKey]:
    """Flag-major (the sim's cache holds one expiry's contracts at a time), then code, label, side."""
    return [
        RollingKey(flag, code, offset, side)  # type: ignore[arg-type]  # flags are checked WEEK/MONTH
        for flag in flags
        for code in codes
        for offset in range(-strikes, strikes + 1)
        for side in (OptionType.CALL, OptionType.PUT)
    ]


def may_trade(calendar: MarketCalendar, day: date) -> bool:
    try:
        return calendar.is_trading_day(day)
    except CalendarCoverageError:
        return day.weekday() < 5  # outside the holiday table: ask every weekday


def _windows(days: list[date], longest: int) -> Iterator[tuple[date, date]]:
    """Runs of consecutive days, cut to at most `longest` days."""
    start = prev = None
    for day in days:
        if start is not None and prev is not None and (day - prev).days == 1 and (day - start).days < longest:
            prev = day
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = day
    if start is not None and prev is not None:
        yield start, prev


def plan(  # noqa: PLR0917 - the range and what to fetch in it
    root: Path,
    underlyings: list[Underlying],
    first: date,
    last: date,
    keys: list[RollingKey],
    calendar: MarketCalendar,
) -> list[MonthPlan]:
    plans: list[MonthPlan] = []
    for underlying in underlyings:
        day = first
        while day <= last:
            month_end = min(
                last, (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            )
            days = [day + timedelta(days=n) for n in range((month_end - day).days + 1)]
            for kind, series in (("index", [None]), ("options", keys)):
                file = MonthFile(root, underlying.value, kind, month_of(day))
                asked = file.asked()
                requests = []
                for key in series:
                    name = Request(underlying, kind, day, day, key).series
                    done = asked.setdefault(name, set())
                    missing = [d for d in days if d not in done]
                    done.update(d for d in missing if not may_trade(calendar, d))  # nothing to ask
                    longest = INTRADAY_MAX_DAYS if key is None else ROLLING_MAX_DAYS
                    for a, b in _windows(missing, longest):  # trimmed to days that may trade
                        sessions = [d for d in missing if a <= d <= b and may_trade(calendar, d)]
                        if sessions:
                            requests.append(Request(underlying, kind, sessions[0], sessions[-1], key))
                plans.append(MonthPlan(file, requests, asked))
            day = month_end + timedelta(days=1)
    return plans


def _ts(epochs: list[int]) -> pl.Series:
    return pl.Series("ts", [datetime.fromtimestamp(t, UTC) for t in epochs]).dt.convert_time_zone(
        "Asia/Kolkata"
    )


def _prices(values: list[Decimal | None]) -> list[Decimal | None]:
    return [price(v) for v in values]


def index_frame(bars: IntradayBars) -> pl.DataFrame:
    if not bars.timestamp:
        return pl.DataFrame(schema=INDEX_SCHEMA)
    n = len(bars.timestamp)
    frame = pl.DataFrame(
        {
            "ts": _ts(bars.timestamp),
            "open": _prices(bars.open),
            "high": _prices(bars.high),
            "low": _prices(bars.low),
            "close": _prices(bars.close),
            "volume": bars.volume or [0] * n,
            "oi": bars.open_interest or [0] * n,
        },
        schema_overrides=INDEX_SCHEMA,
    )
    return frame.select(list(INDEX_SCHEMA))


def options_frame(series: RollingSeries, key: RollingKey) -> pl.DataFrame:
    if not series.timestamp:
        return pl.DataFrame(schema=OPTIONS_SCHEMA)
    n = len(series.timestamp)
    frame = pl.DataFrame(
        {
            "ts": _ts(series.timestamp),
            "expiry_flag": [key.flag] * n,
            "expiry_code": [key.code] * n,
            "atm_offset": [key.offset] * n,
            "option_type": [key.option_type.value] * n,
            "strike": _prices(series.strike),
            "open": _prices(series.open),
            "high": _prices(series.high),
            "low": _prices(series.low),
            "close": _prices(series.close),
            "volume": series.volume,
            "oi": series.oi,
            "iv": [None if v is None else float(v) for v in series.iv],
            "spot": _prices(series.spot),
        },
        schema_overrides=OPTIONS_SCHEMA,
    )
    return frame.select(list(OPTIONS_SCHEMA))


async def _fetch(history: HistorySource, request: Request, stats: Stats) -> pl.DataFrame:
    failures = 0
    while True:
        try:
            if request.key is None:
                return index_frame(await history.intraday(request.underlying, request.first, request.last))
            series = await history.rolling_option(
                request.underlying, request.key, request.first, request.last
            )
            return options_frame(series, request.key)
        except (DhanRateLimitedError, DhanTransientError):
            failures += 1
            if RETRY.exhausted(failures, 0.0):
                raise
            stats.retries += 1
            # a wall-clock pause of a CLI tool
            await asyncio.sleep(RETRY.delay(failures, random.random()))  # noqa: S311 - jitter, not secrecy


async def download(
    history: HistorySource, plans: list[MonthPlan], show: Callable[[str, bool], None]
) -> Stats:
    """Run the plans in order; `show(text, milestone)` is told what is being fetched."""
    stats = Stats()
    total = sum(len(p.requests) for p in plans)
    started = time.monotonic()  # elapsed wall time of the run, for the progress line
    for month in plans:
        frames: list[pl.DataFrame] = []
        try:
            for request in month.requests:
                elapsed = time.monotonic() - started
                where = f"[{stats.requests + 1}/{total}] {request.describe()}"
                show(f"{where}  rows {stats.rows:,}  {elapsed:.0f}s", False)
                frame = await _fetch(history, request, stats)
                stats.requests += 1
                stats.empty += frame.height == 0
                stats.rows += frame.height
                frames.append(frame)
                asked = month.asked[request.series]
                asked.update(
                    request.first + timedelta(days=n) for n in range((request.last - request.first).days + 1)
                )
        finally:
            if month.requests or not month.file.asked_path.exists():
                rows = month.file.write(frames, month.asked)
                stats.months += 1
                line = f"{month.file.underlying} {month.file.month} {month.file.kind}: {rows:,} rows"
                stats.done.append(line)
                show(line, True)
    return stats
