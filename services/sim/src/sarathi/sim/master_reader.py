"""Read Dhan's detailed instrument master (REFERENCE §9.3) into the sim's `Universe`.

In replay and paper modes the ticks carry REAL Dhan security ids; with `SARATHI_SIM_MASTER_FILE`
the sim lists the contracts of a real `api-scrip-master-detailed.csv` (or of
`GET /v2/instrument/{segment}`), so those ticks, frames and orders find their instruments.

What is read (by header name, whatever the column order; extra columns, a trailing empty column
and a UTF-8 byte-order mark are tolerated):

- the three index rows, `INSTRUMENT=INDEX` with `SECURITY_ID` 13, 25 (`EXCH_ID` NSE) and 51
  (BSE), segment `IDX_I`;
  an index the file does not list is added all the same (the sim needs all three: the option
  chain and the index levels look them up). Index rows' filler columns differ between live
  captures (§9.4), so only the id, exchange and display name are read; lot 1, tick ₹0.05;
- the `OPTIDX` rows whose `UNDERLYING_SYMBOL` is NIFTY, BANKNIFTY or SENSEX: exchange NSE →
  `NSE_FNO`, BSE → `BSE_FNO` (it must be the underlying's exchange), `LOT_SIZE` a whole float,
  `SM_EXPIRY_DATE` `YYYY-MM-DD` with or without ` 14:30:00`, `STRIKE_PRICE` positive,
  `OPTION_TYPE` CE/PE, `TICK_SIZE` in paise (`5.0000` = ₹0.05), `EXPIRY_FLAG` `W` = weekly,
  `SM_FREEZE_QTY` (optional: older headers lack it; absent, empty or ≤ 0 = none published = 0).
  The trading symbol is `SYMBOL_NAME` when it has the compact shape (`NIFTY-Sep2026-24000-CE`),
  else it is built (BSE's `BSXOPT` says nothing); an empty `DISPLAY_NAME` is built too.

Every other row (equities, futures, other indices and underlyings, ...) is ignored and counted
by its `INSTRUMENT`. A row of ours that fails validation (bad id, date, number, option type,
wrong exchange, a security id already listed) is skipped and counted by reason, never fatal.
A file that is not a detailed master at all (unreadable, empty, required columns missing, e.g.
the compact `SEM_*` master) raises `MasterFileError`.

Contracts are kept whatever their expiry (the file is taken as the day's list); ids are those of
the file, which Dhan may recycle after an expiry (§9.4): load the master of the day being played.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sarathi.common.domain.instruments import (
    Exchange,
    ExchangeSegment,
    OptionType,
    Underlying,
    underlying_by_index_id,
)
from sarathi.common.domain.money import OPTION_TICK, PAISA
from sarathi.common.logging import get_logger
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.universe_builder import INDEX_DISPLAY_NAMES, display_name, index_instrument, trading_symbol

log = get_logger(__name__)

REQUIRED_COLUMNS = (
    "EXCH_ID", "SEGMENT", "SECURITY_ID", "INSTRUMENT", "UNDERLYING_SYMBOL", "LOT_SIZE", "SM_EXPIRY_DATE",
    "STRIKE_PRICE", "OPTION_TYPE", "TICK_SIZE",
)  # fmt: skip
"""Without these a file is not a detailed master; the others (names, flags, freeze) are optional."""

_MAX_SECURITY_ID = 2**31 - 1  # the binary feed header's int32
_EXAMPLES = 10  # skipped rows quoted in the report (the rest are only counted)


class MasterFileError(ValueError):
    """The file is not a Dhan detailed instrument master the sim can read."""


class _BadRowError(ValueError):
    """One row of ours that cannot be listed (its reason is counted)."""


@dataclass(frozen=True)
class MasterReport:
    """What a read found: rows listed, added, ignored (not ours) and skipped (bad)."""

    source: str
    rows: int  # data rows read (blank lines excluded)
    indices: int  # index rows listed from the file
    options: int  # option rows listed
    indices_added: tuple[str, ...]  # ids of the index rows the file lacked
    ignored: Mapping[str, int] = field(default_factory=dict)  # INSTRUMENT → rows not ours
    skipped: Mapping[str, int] = field(default_factory=dict)  # reason → rows of ours that were bad
    examples: tuple[str, ...] = ()  # the first skipped rows, `line N: reason`

    @property
    def ignored_total(self) -> int:
        return sum(self.ignored.values())

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class MasterUniverse:
    universe: Universe
    report: MasterReport


class _Columns:
    """Values of one row by header name ("" when the row is short or the column absent)."""

    def __init__(self, header: list[str]) -> None:
        self._positions: dict[str, int] = {}
        for position, name in enumerate(header):
            key = name.strip().upper()
            if key and key not in self._positions:
                self._positions[key] = position

    def missing(self, names: Iterable[str]) -> list[str]:
        return [name for name in names if name not in self._positions]

    def has(self, name: str) -> bool:
        return name in self._positions

    def get(self, row: list[str], name: str) -> str:
        position = self._positions.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""


def _required(columns: _Columns, row: list[str], name: str) -> str:
    value = columns.get(row, name)
    if not value:
        raise _BadRowError(f"missing {name}")
    return value


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _BadRowError(f"bad {name}") from None
    if not value.is_finite():
        raise _BadRowError(f"bad {name}")
    return value


def _plain(value: Decimal) -> Decimal:
    """`24000.00000` → 24000, `0.050000` → 0.05 (never an exponent)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    quantized = value.quantize(PAISA)
    return quantized if quantized == value else value


def _security_id(columns: _Columns, row: list[str]) -> str:
    text = _required(columns, row, "SECURITY_ID")
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= _MAX_SECURITY_ID:
        raise _BadRowError("bad SECURITY_ID")
    return str(int(text))


def _lot_size(columns: _Columns, row: list[str]) -> int:
    value = _decimal(_required(columns, row, "LOT_SIZE"), "LOT_SIZE")
    if value <= 0 or value != value.to_integral_value():
        raise _BadRowError("bad LOT_SIZE")
    return int(value)


def _expiry(columns: _Columns, row: list[str]) -> date:
    text = _required(columns, row, "SM_EXPIRY_DATE")
    day, _, time_of_day = text.partition(" ")
    try:
        expiry = date.fromisoformat(day)
        if time_of_day.strip():
            time.fromisoformat(time_of_day.strip())
    except ValueError:
        raise _BadRowError("bad SM_EXPIRY_DATE") from None
    if len(day) != 10 or expiry.year < 2000:
        raise _BadRowError("bad SM_EXPIRY_DATE")  # 0001-01-01 is "no expiry": not an option
    return expiry


def _strike(columns: _Columns, row: list[str]) -> Decimal:
    value = _decimal(_required(columns, row, "STRIKE_PRICE"), "STRIKE_PRICE")
    if value <= 0:
        raise _BadRowError("bad STRIKE_PRICE")
    return _plain(value)


def _option_type(columns: _Columns, row: list[str]) -> OptionType:
    text = _required(columns, row, "OPTION_TYPE").upper()
    try:
        return OptionType(text)
    except ValueError:
        raise _BadRowError("bad OPTION_TYPE") from None


def _tick_size(columns: _Columns, row: list[str]) -> Decimal:
    paise = _decimal(_required(columns, row, "TICK_SIZE"), "TICK_SIZE")
    if paise <= 0:
        raise _BadRowError("bad TICK_SIZE")
    return _plain(paise / 100)  # paise on tradable rows (§9.2, verified live)


def _freeze_qty(columns: _Columns, row: list[str]) -> int:
    text = columns.get(row, "SM_FREEZE_QTY")
    if text.upper() in ("", "NA"):
        return 0
    value = _decimal(text, "SM_FREEZE_QTY")
    if value != value.to_integral_value():
        raise _BadRowError("bad SM_FREEZE_QTY")
    return max(int(value), 0)  # ≤ 0: none published


def _exchange_fits(columns: _Columns, row: list[str], underlying: Underlying) -> None:
    exchange = _required(columns, row, "EXCH_ID").upper()
    if exchange not in {e.value for e in Exchange}:
        raise _BadRowError("bad EXCH_ID")
    if exchange != underlying.spec.exchange.value:
        raise _BadRowError(f"EXCH_ID {exchange} is not the exchange of {underlying}")


def _index_row(columns: _Columns, row: list[str], underlying: Underlying) -> SimInstrument:
    template = index_instrument(underlying)
    name = columns.get(row, "DISPLAY_NAME") or INDEX_DISPLAY_NAMES[underlying]
    return SimInstrument(
        security_id=template.security_id,
        segment=ExchangeSegment.IDX_I,
        underlying=underlying,
        symbol=underlying.spec.name,
        display_name=name,
        lot_size=1,
        tick_size=OPTION_TICK,
    )


def _option_row(columns: _Columns, row: list[str], underlying: Underlying) -> SimInstrument:
    security_id = _security_id(columns, row)
    _exchange_fits(columns, row, underlying)
    if _required(columns, row, "SEGMENT").upper() != "D":
        raise _BadRowError("bad SEGMENT")
    expiry = _expiry(columns, row)
    strike = _strike(columns, row)
    option_type = _option_type(columns, row)
    symbol = columns.get(row, "SYMBOL_NAME")
    if not symbol.startswith(f"{underlying.spec.name}-"):
        symbol = trading_symbol(underlying, expiry, strike, option_type)
    return SimInstrument(
        security_id=security_id,
        segment=underlying.spec.fno_segment,
        underlying=underlying,
        symbol=symbol,
        display_name=columns.get(row, "DISPLAY_NAME")
        or display_name(underlying, expiry, strike, option_type),
        lot_size=_lot_size(columns, row),
        tick_size=_tick_size(columns, row),
        expiry=expiry,
        strike=strike,
        option_type=option_type,
        weekly=columns.get(row, "EXPIRY_FLAG").upper() == "W",
        freeze_qty=_freeze_qty(columns, row),
    )


_OUR_UNDERLYINGS = {u.value: u for u in Underlying}


def _instrument(columns: _Columns, row: list[str]) -> SimInstrument | None:
    """The row as one of ours, or None when it is not ours (raises `_BadRowError` when ours but bad)."""
    kind = columns.get(row, "INSTRUMENT").upper()
    if kind == "INDEX":
        underlying = underlying_by_index_id(columns.get(row, "SECURITY_ID"))
        if underlying is None or columns.get(row, "EXCH_ID").upper() != underlying.spec.exchange.value:
            return None  # another index (INDIA VIX, an index of the other exchange, ...)
        return _index_row(columns, row, underlying)
    if kind == "OPTIDX":
        underlying_of_row = _OUR_UNDERLYINGS.get(columns.get(row, "UNDERLYING_SYMBOL").upper())
        return None if underlying_of_row is None else _option_row(columns, row, underlying_of_row)
    return None


def parse_master(lines: Iterable[str], source: str = "<text>") -> MasterUniverse:
    """Parse a detailed master's lines (the text of the file, newline-terminated or not)."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise MasterFileError(f"{source} is empty: not a Dhan detailed instrument master")
        columns = _Columns([name.lstrip("\ufeff") for name in header])
        missing = columns.missing(REQUIRED_COLUMNS)
        if missing:
            hint = " (this is the compact SEM_* master)" if columns.has("SEM_SMST_SECURITY_ID") else ""
            raise MasterFileError(
                f"{source} is not a Dhan detailed instrument master{hint}: "
                f"missing columns {', '.join(missing)}"
            )
        listed: dict[str, SimInstrument] = {}
        ignored: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        examples: list[str] = []
        rows = 0
        for row in reader:
            if not any(value.strip() for value in row):
                continue  # a blank line
            rows += 1
            try:
                instrument = _instrument(columns, row)
                if instrument is not None and instrument.security_id in listed:
                    raise _BadRowError("SECURITY_ID listed twice")
            except _BadRowError as bad:
                skipped[str(bad)] += 1
                if len(examples) < _EXAMPLES:
                    examples.append(f"line {reader.line_num}: {bad}")
                continue
            if instrument is None:
                ignored[columns.get(row, "INSTRUMENT") or "(none)"] += 1
            else:
                listed[instrument.security_id] = instrument
    except csv.Error as exc:
        raise MasterFileError(f"{source} line {reader.line_num}: not a readable CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise MasterFileError(f"{source} is not UTF-8 text ({exc})") from None

    added = [u for u in Underlying if u.spec.security_id not in listed]
    for underlying in added:
        listed[underlying.spec.security_id] = index_instrument(underlying)
    instruments = list(listed.values())
    report = MasterReport(
        source=source,
        rows=rows,
        indices=sum(1 for i in instruments if i.is_index) - len(added),
        options=sum(1 for i in instruments if not i.is_index),
        indices_added=tuple(u.spec.security_id for u in added),
        ignored=dict(ignored),
        skipped=dict(skipped),
        examples=tuple(examples),
    )
    return MasterUniverse(Universe(instruments), report)


def read_master(path: Path) -> MasterUniverse:
    """Read a detailed master file (raises `MasterFileError` if it is not one)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            return parse_master(lines, str(path))
    except OSError as exc:
        raise MasterFileError(f"cannot read {path}: {exc}") from None


def load_master(path: Path) -> MasterUniverse:
    """`read_master`, then log what it listed, ignored and skipped."""
    loaded = read_master(path)
    report = loaded.report
    log.info(
        "master_loaded",
        path=report.source,
        rows=report.rows,
        indices=report.indices,
        indices_added=list(report.indices_added),
        options=report.options,
        ignored=report.ignored_total,
    )
    if report.skipped:
        log.warning("master_rows_skipped", path=report.source, skipped=report.skipped, first=report.examples)
    if report.options == 0:
        log.warning("master_lists_no_options", path=report.source)
    return loaded
