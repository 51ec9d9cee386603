"""Read Dhan's detailed instrument master (REFERENCE §9.3): its header, rows and fields, once.

Columns are read by header name, whatever their order (extra columns, a trailing empty column, a
UTF-8 byte-order mark and any case are tolerated). `read_rows` yields the rows Sarathi cares
about: the index rows (`INSTRUMENT` INDEX, read loosely: their filler columns differ between
live captures, §9.4) and the index options (`OPTIDX`) of NIFTY, BANKNIFTY and SENSEX, validated:

- `SECURITY_ID` a positive integer within the binary feed header's int32;
- `EXCH_ID` the underlying's exchange (NSE → `NSE_FNO`, BSE → `BSE_FNO`), `SEGMENT` D;
- `LOT_SIZE` a positive whole float; `SM_EXPIRY_DATE` `YYYY-MM-DD`, with or without ` 14:30:00`
  (0001-01-01 means "no expiry": not an option); `STRIKE_PRICE` positive; `OPTION_TYPE` CE/PE;
- `TICK_SIZE` in paise (`5.0000` = ₹0.05, verified live on tradable rows, §9.2);
- `SM_FREEZE_QTY` optional (older headers lack it): absent, empty, NA or ≤ 0 = none published = 0.

A row of ours that fails is yielded as a `RowError` with a short reason (`bad LOT_SIZE`); what to
do with it is the reader's policy (the sim skips and counts, execution rejects the file). Every
other row is yielded as `Other` with its `INSTRUMENT`. A file that is not a detailed master at all
(empty, unreadable, required columns missing, e.g. the compact `SEM_*` master) raises
`MasterFileError`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation

from sarathi.common.domain.instruments import Exchange, ExchangeSegment, OptionType, Underlying
from sarathi.common.domain.money import PAISA

REQUIRED_COLUMNS = (
    "EXCH_ID", "SEGMENT", "SECURITY_ID", "INSTRUMENT", "UNDERLYING_SYMBOL", "LOT_SIZE", "SM_EXPIRY_DATE",
    "STRIKE_PRICE", "OPTION_TYPE", "TICK_SIZE",
)  # fmt: skip
"""Without these a file is not a detailed master; the others (names, flags, freeze) are optional."""

MAX_SECURITY_ID = 2**31 - 1  # the binary feed header's int32
_UNDERLYINGS = {u.value: u for u in Underlying}


class MasterFileError(ValueError):
    """The file is not a Dhan detailed instrument master."""


class _BadRowError(ValueError):
    """One row of ours that cannot be read; its message is the reason."""


@dataclass(frozen=True)
class MasterIndex:
    """An `INDEX` row, read loosely (the reader decides which indices it keeps)."""

    line: int
    security_id: str  # as written; `security_id()` validates it
    exchange: str
    segment: str
    underlying_symbol: str
    symbol_name: str
    display_name: str
    tick_size: str  # as written: index rows' filler columns vary (§9.4)


@dataclass(frozen=True)
class MasterOption:
    """A valid `OPTIDX` row of one of our underlyings."""

    line: int
    security_id: str  # canonical decimal digits
    underlying: Underlying
    segment: ExchangeSegment
    expiry: date
    strike: Decimal  # plain: `24000.00000` → 24000
    option_type: OptionType
    lot_size: int
    tick_size: Decimal  # rupees
    freeze_qty: int  # 0: none published
    weekly: bool  # `EXPIRY_FLAG` W
    symbol_name: str  # as written ("" when absent)
    display_name: str  # as written ("" when absent)


@dataclass(frozen=True)
class RowError:
    """A row of ours that failed validation."""

    line: int
    reason: str


@dataclass(frozen=True)
class Other:
    """A row that is not ours (equities, futures, another underlying's options …)."""

    line: int
    instrument: str


MasterRow = MasterIndex | MasterOption | RowError | Other


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


def read_rows(
    lines: Iterable[str], source: str = "<text>", required: Iterable[str] = REQUIRED_COLUMNS
) -> Iterator[MasterRow]:
    """Every non-blank data row, classified; `MasterFileError` if this is no detailed master."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None or not any(name.strip() for name in header):
            raise MasterFileError(f"{source} is empty: not a Dhan detailed instrument master")
        columns = _Columns([name.lstrip("\ufeff") for name in header])
        missing = columns.missing(required)
        if missing:
            hint = " (this is the compact SEM_* master)" if columns.has("SEM_SMST_SECURITY_ID") else ""
            names = ", ".join(missing)
            raise MasterFileError(
                f"{source} is not a Dhan detailed instrument master{hint}: missing columns {names}"
            )
        for row in reader:
            if any(value.strip() for value in row):
                yield _classify(columns, row, reader.line_num)
    except csv.Error as exc:
        raise MasterFileError(f"{source} line {reader.line_num}: not a readable CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise MasterFileError(f"{source} is not UTF-8 text ({exc})") from None


def security_id(text: str) -> str:
    """`text` as canonical digits; `ValueError("bad SECURITY_ID")` unless a positive int32."""
    if not text:
        raise _BadRowError("missing SECURITY_ID")
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_SECURITY_ID:
        raise _BadRowError("bad SECURITY_ID")
    return str(int(text))


def number(text: str, name: str) -> Decimal:
    """A finite decimal, or `ValueError("bad <name>")`."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _BadRowError(f"bad {name}") from None
    if not value.is_finite():
        raise _BadRowError(f"bad {name}")
    return value


# --- internals -------------------------------------------------------------------------------


def _classify(columns: _Columns, row: list[str], line: int) -> MasterRow:
    kind = columns.get(row, "INSTRUMENT")
    try:
        if kind.upper() == "INDEX":
            return MasterIndex(
                line=line,
                security_id=columns.get(row, "SECURITY_ID"),
                exchange=columns.get(row, "EXCH_ID").upper(),
                segment=columns.get(row, "SEGMENT").upper(),
                underlying_symbol=columns.get(row, "UNDERLYING_SYMBOL"),
                symbol_name=columns.get(row, "SYMBOL_NAME"),
                display_name=columns.get(row, "DISPLAY_NAME"),
                tick_size=columns.get(row, "TICK_SIZE"),
            )
        underlying = _UNDERLYINGS.get(columns.get(row, "UNDERLYING_SYMBOL").upper())
        if kind.upper() == "OPTIDX" and underlying is not None:
            return _option(columns, row, line, underlying)
    except _BadRowError as bad:
        return RowError(line, str(bad))
    return Other(line, kind)


def _required(columns: _Columns, row: list[str], name: str) -> str:
    value = columns.get(row, name)
    if not value:
        raise _BadRowError(f"missing {name}")
    return value


def _plain(value: Decimal) -> Decimal:
    """`24000.00000` → 24000, `0.050000` → 0.05 (never an exponent)."""
    if value == value.to_integral_value():
        return Decimal(int(value))
    quantized = value.quantize(PAISA)
    return quantized if quantized == value else value


def _lot_size(columns: _Columns, row: list[str]) -> int:
    value = number(_required(columns, row, "LOT_SIZE"), "LOT_SIZE")
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


def _positive(columns: _Columns, row: list[str], name: str) -> Decimal:
    value = number(_required(columns, row, name), name)
    if value <= 0:
        raise _BadRowError(f"bad {name}")
    return value


def _option_type(columns: _Columns, row: list[str]) -> OptionType:
    try:
        return OptionType(_required(columns, row, "OPTION_TYPE").upper())
    except ValueError:
        raise _BadRowError("bad OPTION_TYPE") from None


def _freeze_qty(columns: _Columns, row: list[str]) -> int:
    text = columns.get(row, "SM_FREEZE_QTY")
    if text.upper() in ("", "NA"):
        return 0
    value = number(text, "SM_FREEZE_QTY")
    if value != value.to_integral_value():
        raise _BadRowError("bad SM_FREEZE_QTY")
    return max(int(value), 0)  # ≤ 0: none published


def _option(columns: _Columns, row: list[str], line: int, underlying: Underlying) -> MasterOption:
    sid = security_id(columns.get(row, "SECURITY_ID"))
    exchange = _required(columns, row, "EXCH_ID").upper()
    if exchange not in {e.value for e in Exchange}:
        raise _BadRowError("bad EXCH_ID")
    if exchange != underlying.spec.exchange.value:
        raise _BadRowError(f"EXCH_ID {exchange} is not the exchange of {underlying}")
    if _required(columns, row, "SEGMENT").upper() != "D":
        raise _BadRowError("bad SEGMENT")
    return MasterOption(
        line=line,
        security_id=sid,
        underlying=underlying,
        segment=underlying.spec.fno_segment,
        expiry=_expiry(columns, row),
        strike=_plain(_positive(columns, row, "STRIKE_PRICE")),
        option_type=_option_type(columns, row),
        lot_size=_lot_size(columns, row),
        tick_size=_plain(_positive(columns, row, "TICK_SIZE") / 100),  # paise on tradable rows (§9.2)
        freeze_qty=_freeze_qty(columns, row),
        weekly=columns.get(row, "EXPIRY_FLAG").upper() == "W",
        symbol_name=columns.get(row, "SYMBOL_NAME"),
        display_name=columns.get(row, "DISPLAY_NAME"),
    )
