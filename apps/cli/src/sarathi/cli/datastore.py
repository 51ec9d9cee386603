"""The history cache: Parquet files, one per (source, underlying, kind, month), and what was asked.

    <data dir>/<source>/<UNDERLYING>/index/<YYYY-MM>.parquet       1-minute index bars
    <data dir>/<source>/<UNDERLYING>/options/<YYYY-MM>.parquet     1-minute rolling option bars
    <data dir>/<source>/<UNDERLYING>/<kind>/<YYYY-MM>.asked.json   days asked, per series

`<source>` is `dhan`, or `sim-seed<N>` (a sim's prices depend on its seed). A backtest reads one
month of one underlying with one `pl.read_parquet`. Prices are `Decimal(12, 2)` (never float:
options are on the ₹0.05 tick, indices on the paisa); `iv` (percent) is a float, not money.
The `.asked.json` lists the days already asked of Dhan for each series, with or without bars
(weekends, holidays and empty answers included), so a second run asks nothing it has.
A month is written whole, to a temporary file renamed into place: a crash leaves the old month.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

PRICE = pl.Decimal(12, 2)
TS = pl.Datetime("us", "Asia/Kolkata")
INDEX_SCHEMA: dict[str, Any] = {
    "ts": TS, "open": PRICE, "high": PRICE, "low": PRICE, "close": PRICE,
    "volume": pl.Int64, "oi": pl.Int64,
}  # fmt: skip
OPTIONS_SCHEMA: dict[str, Any] = {
    "ts": TS, "expiry_flag": pl.String, "expiry_code": pl.Int8, "atm_offset": pl.Int8,
    "option_type": pl.String, "strike": PRICE, "open": PRICE, "high": PRICE, "low": PRICE,
    "close": PRICE, "volume": pl.Int64, "oi": pl.Int64, "iv": pl.Float64, "spot": PRICE,
}  # fmt: skip
SCHEMAS = {"index": INDEX_SCHEMA, "options": OPTIONS_SCHEMA}
KEYS = {"index": ["ts"], "options": ["expiry_flag", "expiry_code", "option_type", "atm_offset", "ts"]}


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


@dataclass(frozen=True, slots=True)
class MonthFile:
    root: Path  # <data dir>/<source>
    underlying: str
    kind: str  # index | options
    month: str  # YYYY-MM

    @property
    def parquet(self) -> Path:
        return self.root / self.underlying / self.kind / f"{self.month}.parquet"

    @property
    def asked_path(self) -> Path:
        return self.root / self.underlying / self.kind / f"{self.month}.asked.json"

    def asked(self) -> dict[str, set[date]]:
        """Days already asked, per series name."""
        if not self.asked_path.exists():
            return {}
        raw = json.loads(self.asked_path.read_text())
        return {name: {date.fromisoformat(d) for d in days} for name, days in raw["series"].items()}

    def read(self) -> pl.DataFrame:
        if not self.parquet.exists():
            return pl.DataFrame(schema=SCHEMAS[self.kind])
        return pl.read_parquet(self.parquet)

    def write(self, new_rows: Iterable[pl.DataFrame], asked: dict[str, set[date]]) -> int:
        """Merge `new_rows` into the month (a row per key, the newest wins); then record `asked`."""
        frames = [self.read(), *(f for f in new_rows if f.height)]
        merged = pl.concat(frames, how="vertical").unique(subset=KEYS[self.kind], keep="last")
        merged = merged.sort(KEYS[self.kind])
        self.parquet.parent.mkdir(parents=True, exist_ok=True)
        _replace(self.parquet, merged.write_parquet)
        series = {name: sorted(d.isoformat() for d in days) for name, days in sorted(asked.items())}
        text = json.dumps({"series": series}, indent=0)
        _replace(self.asked_path, lambda tmp: tmp.write_text(text))
        return merged.height


def _replace(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Listing:
    source: str
    underlying: str
    kind: str
    month: str
    rows: int
    days: int  # sessions with bars
    series: int
    first: str
    last: str
    size_bytes: int


def listing(data_dir: Path) -> Iterator[Listing]:
    """What is cached, in path order."""
    for path in sorted(data_dir.glob("*/*/*/*.parquet")):
        kind_dir = path.parent
        frame = pl.read_parquet(path)
        kind = kind_dir.name
        series = frame.select(KEYS[kind][:-1]).unique().height if kind == "options" else 1
        stamps = frame.get_column("ts")
        yield Listing(
            source=kind_dir.parent.parent.name,
            underlying=kind_dir.parent.name,
            kind=kind,
            month=path.stem,
            rows=frame.height,
            days=stamps.dt.date().n_unique() if frame.height else 0,
            series=series if frame.height else 0,
            first=_minute(stamps.min()) if frame.height else "-",
            last=_minute(stamps.max()) if frame.height else "-",
            size_bytes=path.stat().st_size,
        )


def _minute(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else "-"
