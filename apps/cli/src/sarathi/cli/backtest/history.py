"""Minute history for the backtest, read from the `sarathi data` cache (`sarathi.cli.datastore`).

One trading day of one underlying is a `DayData`: the index's 1-minute bars (as the signals'
`ClosedBar`) and the day's rolling option rows. Rolling rows are labelled by their distance from
ATM at each minute (`atm_offset`); the engine wants one series per contract, so rows are keyed
by (expiry, option type, strike) instead: the same strike seen under different labels over the
day is one contract. Its expiry is the `expiry_code`-th expiry of the `expiry_flag` series on
that day by the market calendar (`MarketCalendar.expiries`; `nth_expiry` below): Dhan's rolling
answer does not name the expiry date (REFERENCE §7.4). Months are read once and cut into days.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from sarathi.cli.datastore import MonthFile, month_of
from sarathi.common.domain.calendar import IST, CalendarCoverageError, MarketCalendar
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.signals.domain import ClosedBar

ONE_MINUTE = timedelta(minutes=1)
_SCANNED = 12  # expiries looked ahead for the n-th of a series


class HistoryError(ValueError):
    """The cache cannot serve the backtest (nothing downloaded, a month missing)."""


@dataclass(frozen=True, slots=True)
class OptionBar:
    """One minute of one contract, as the rolling history gives it."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int
    iv: float  # percent
    spot: Decimal


CHAIN_COLUMNS = ("option_type", "strike", "close", "oi", "day_volume", "spot", "iv")
EPOCH_DAY = date(1970, 1, 1)
SeriesKey = tuple[date, OptionType, Decimal]  # expiry, side, strike: one rebuilt per-strike series


@dataclass
class DayData:
    underlying: Underlying
    day: date
    minutes: list[ClosedBar]  # the index, 1-minute bars, in order
    options: pl.DataFrame  # the day's rolling rows with an `expiry` column
    _series: dict[SeriesKey, dict[datetime, OptionBar]] = field(default_factory=dict)
    _expiries: list[date] | None = None
    _minutes: dict[tuple[int, int], list[int]] | None = None

    @property
    def expiries(self) -> list[date]:
        if self._expiries is None:
            found = self.options.get_column("expiry").unique().to_list() if self.options.height else []
            self._expiries = sorted(found)
        return list(self._expiries)

    def series(self, key: SeriesKey) -> dict[datetime, OptionBar]:
        """The minutes of one contract (built on first use: most contracts are never traded)."""
        found = self._series.get(key)
        if found is None:
            expiry, side, strike = key
            rows = self.options.filter(
                (pl.col("expiry") == expiry)
                & (pl.col("option_type") == side.value)
                & (pl.col("strike") == strike)
            ).unique(subset=["ts"], keep="first")
            found = {bar.start: bar for bar in _bars(rows)}
            self._series[key] = found
        return found

    def minute_rows(self, expiry: date, minute: datetime) -> list[dict[str, Any]]:
        """Rows of `expiry` stamped `minute` (a chain is built from the last minute's), in the
        day's order. The day's (expiry, minute) → row numbers are found once, on first use;
        only the rows asked for become Python values."""
        if self._minutes is None:
            keys = self.options.select(
                (pl.col("expiry") - EPOCH_DAY).dt.total_days(), pl.col("ts").dt.epoch("us")
            )
            self._minutes = {}
            for n, key in enumerate(keys.iter_rows()):
                self._minutes.setdefault(key, []).append(n)
        found = self._minutes.get(((expiry - EPOCH_DAY).days, int(minute.timestamp()) * 1_000_000))
        if not found:
            return []
        return self.options.select(CHAIN_COLUMNS)[found].rows(named=True)


def _bars(rows: pl.DataFrame) -> Iterator[OptionBar]:
    for r in rows.sort("ts").iter_rows(named=True):
        yield OptionBar(
            r["ts"].astimezone(IST), r["open"], r["high"], r["low"], r["close"],
            r["volume"] or 0, r["oi"] or 0, r["iv"] or 0.0, r["spot"],
        )  # fmt: skip


def nth_expiry(
    calendar: MarketCalendar, underlying: Underlying, day: date, flag: str, code: int
) -> date | None:
    """The `code`-th expiry of `flag` (WEEK: every expiry; MONTH: monthly ones) on or after `day`."""
    try:
        found = calendar.expiries(underlying, day, day + timedelta(days=7 * _SCANNED))
    except CalendarCoverageError:
        return None
    if flag == "MONTH":
        found = [e for e in found if e.is_monthly]
    elif all(e.is_monthly for e in found):
        return None  # no weeklies for this underlying then
    return found[code - 1].day if len(found) >= code else None


class History:
    """The cache of one source (`<data dir>/<source>`), read a month at a time."""

    def __init__(self, root: Path, calendar: MarketCalendar) -> None:
        if not root.is_dir():
            raise HistoryError(f"no history at {root}: run `sarathi data download` first")
        self.root = root
        self.calendar = calendar
        self._months: dict[tuple[str, str], tuple[dict[date, pl.DataFrame], dict[date, pl.DataFrame]]] = {}

    def _month(
        self, underlying: Underlying, month: str
    ) -> tuple[dict[date, pl.DataFrame], dict[date, pl.DataFrame]]:
        key = (underlying.value, month)
        if key not in self._months:
            if len(self._months) > 6:  # a year of three underlyings must not sit in memory at once
                self._months.pop(next(iter(self._months)))
            index = MonthFile(self.root, underlying.value, "index", month).read()
            options = MonthFile(self.root, underlying.value, "options", month).read()
            self._months[key] = (_by_day(index), _by_day(options))
        return self._months[key]

    def minutes(self, underlying: Underlying, day: date) -> list[ClosedBar]:
        """The index's 1-minute bars of the day (none when the cache has none)."""
        index = self._month(underlying, month_of(day))[0].get(day)
        return list(_minutes(underlying, index)) if index is not None else []

    def has_index(self, underlying: Underlying, day: date) -> bool:
        return day in self._month(underlying, month_of(day))[0]

    def day(self, underlying: Underlying, day: date) -> DayData | None:
        """The day's data, or None when the cache has no index bars for it."""
        index_days, option_days = self._month(underlying, month_of(day))
        index = index_days.get(day)
        if index is None:
            return None
        options = option_days.get(day, pl.DataFrame())
        if options.height:
            expiry_of = {
                (flag, code): nth_expiry(self.calendar, underlying, day, flag, code)
                for flag, code in options.select("expiry_flag", "expiry_code").unique().iter_rows()
            }
            mapping = pl.DataFrame(
                {"expiry_flag": [k[0] for k in expiry_of], "expiry_code": [k[1] for k in expiry_of],
                 "expiry": list(expiry_of.values())},
                schema={"expiry_flag": pl.String, "expiry_code": pl.Int8, "expiry": pl.Date},
            )  # fmt: skip
            options = (
                options.join(mapping, on=["expiry_flag", "expiry_code"])
                .filter(pl.col("expiry").is_not_null())
                .unique(subset=["expiry", "option_type", "strike", "ts"], keep="first", maintain_order=True)
                .sort("ts", maintain_order=True)  # a stable order: contract ids follow it
                .with_columns(  # the strike's volume so far today (the chain's `volume`)
                    pl.col("volume")
                    .fill_null(0)
                    .cum_sum()
                    .over("expiry", "option_type", "strike")
                    .alias("day_volume")
                )
            )
        else:
            options = pl.DataFrame(schema={"ts": pl.Datetime("us", "UTC"), "expiry": pl.Date})
        return DayData(underlying, day, list(_minutes(underlying, index)), options)


def _by_day(frame: pl.DataFrame) -> dict[date, pl.DataFrame]:
    if frame.height == 0:
        return {}
    frame = frame.with_columns(pl.col("ts").dt.date().alias("_day"), pl.col("ts").dt.convert_time_zone("UTC"))
    return {key[0]: part.drop("_day") for key, part in frame.partition_by("_day", as_dict=True).items()}


def _minutes(underlying: Underlying, index: pl.DataFrame) -> Iterator[ClosedBar]:
    for ts, o, h, lo, c in index.sort("ts").select("ts", "open", "high", "low", "close").iter_rows():
        start = ts.astimezone(IST)
        yield ClosedBar(underlying, start, start + ONE_MINUTE, o, h, lo, c)
