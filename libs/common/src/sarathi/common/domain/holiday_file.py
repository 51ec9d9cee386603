"""The operator's holiday file (`SARATHI_HOLIDAYS_FILE`): next year's exchange holidays without a
code change.

NSE and BSE publish next year's list in a December circular; the built-in table
(`sarathi.common.domain.holidays`) ends with the last year it was written for, and on 1 January
every service would refuse to work. The operator copies the circular into a CSV:

    kind,day,name,source,exchanges
    holiday,2027-01-26,Republic Day,NSE/CMTR/<number> (Dec 2026),NSE|BSE
    session,<a Saturday or Sunday>,Union Budget,NSE/CMTR/<number>,NSE|BSE

`kind` is `holiday` (a weekday the exchanges are shut) or `session` (a Saturday or Sunday with the
regular session); `day` is YYYY-MM-DD; `source` names the circular and is required; `exchanges`
is `NSE|BSE`, `NSE` or `BSE`. Blank lines and lines starting with `#` are skipped.

Every year that appears in the file becomes covered, so the file must list that WHOLE year: a
weekday it does not list is a trading day. A year the built-in table already covers is amended
(an ad-hoc closure): the file's rows are added to the built-in ones. A row the built-in table
already has (same day and exchange) is ignored, so the file still loads after an upgrade that
builds its year in; a day listed twice in the file itself is refused.

This is the one place the calendar reads a file and the environment: every `MarketCalendar()`
built with the default table gets the file without its caller knowing. A bad file raises
`HolidayFileError` naming the file and line when the first calendar is built, so a service
refuses to start rather than trade on a calendar it half read. The file is read once per
(path, modification time); a running service keeps the table it started with.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

from sarathi.common.domain.holidays import (
    BOTH,
    NSE_BSE_HOLIDAYS,
    Holiday,
    HolidayTable,
    SpecialSession,
    check_rows,
)
from sarathi.common.domain.instruments import Exchange

HOLIDAYS_FILE_VARIABLE = "SARATHI_HOLIDAYS_FILE"
HEADER = ("kind", "day", "name", "source", "exchanges")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXCHANGES = {"NSE": frozenset({Exchange.NSE}), "BSE": frozenset({Exchange.BSE})}


class HolidayFileError(Exception):
    """The holiday file cannot be read, or a row of it is wrong; the message names file and line.

    Not a ValueError on purpose: argparse and the calendar's callers treat a ValueError as a bad
    argument, and this is a broken setting that must stop whatever builds the calendar."""


def parse_holiday_file(text: str, origin: str, base: HolidayTable = NSE_BSE_HOLIDAYS) -> HolidayTable:
    """`base` amended by the CSV `text`: its years covered, its rows added (no I/O).

    `origin` names the file in errors: `<origin>:<line>: <why>`."""
    header_seen = False
    holidays: list[Holiday] = []
    sessions: list[SpecialSession] = []
    built_in = frozenset(_keys(base))
    seen: dict[tuple[date, Exchange], int] = {}
    for line, fields in _records(text, origin):
        where = f"{HOLIDAYS_FILE_VARIABLE} {origin}:{line}"
        if not header_seen:
            if tuple(f.strip().lower() for f in fields) != HEADER:
                raise HolidayFileError(f"{where}: the first row must be the header {','.join(HEADER)}")
            header_seen = True
            continue
        try:
            row = _row(fields)
            check_rows(frozenset({row.day.year}), [row], weekend=isinstance(row, SpecialSession))
        except ValueError as exc:
            raise HolidayFileError(f"{where}: {exc}") from None
        for exchange in sorted(row.exchanges):
            earlier = seen.setdefault((row.day, exchange), line)
            if earlier != line:
                raise HolidayFileError(f"{where}: {row.day} on {exchange} is already listed (line {earlier})")
        new = frozenset(e for e in row.exchanges if (row.day, e) not in built_in)
        if not new:
            continue
        row = replace(row, exchanges=BOTH if new == BOTH else new)
        if isinstance(row, SpecialSession):
            sessions.append(row)
        else:
            holidays.append(row)
    if not seen:
        raise HolidayFileError(f"{HOLIDAYS_FILE_VARIABLE} {origin}: no rows (header {','.join(HEADER)})")
    years = frozenset(h.day.year for h in holidays) | frozenset(s.day.year for s in sessions)
    return HolidayTable(
        covered_years=base.covered_years | years,
        holidays=base.holidays + tuple(holidays),
        special_sessions=base.special_sessions + tuple(sessions),
    )


def _records(text: str, origin: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row that is neither blank nor a `#` comment."""
    rows = csv.reader(text.splitlines())
    try:
        for fields in rows:
            if fields and "".join(fields).strip() and not fields[0].lstrip().startswith("#"):
                yield rows.line_num, fields
    except csv.Error as exc:
        raise HolidayFileError(f"{HOLIDAYS_FILE_VARIABLE} {origin}:{rows.line_num}: {exc}") from None


def _keys(table: HolidayTable) -> list[tuple[date, Exchange]]:
    rows: list[Holiday | SpecialSession] = [*table.holidays, *table.special_sessions]
    return [(row.day, exchange) for row in rows for exchange in row.exchanges]


def _row(fields: list[str]) -> Holiday | SpecialSession:
    if len(fields) != len(HEADER):
        raise ValueError(f"{len(fields)} columns, expected {len(HEADER)} ({','.join(HEADER)})")
    kind, day_text, name, source, exchanges_text = (f.strip() for f in fields)
    if not _ISO_DAY.fullmatch(day_text):
        raise ValueError(f"day {day_text!r} is not a YYYY-MM-DD date")
    day = date.fromisoformat(day_text)
    if not name:
        raise ValueError("the name is empty")
    if not source:
        raise ValueError("the source is empty: name the exchange circular")
    exchanges = _exchanges(exchanges_text)
    if kind.lower() == "holiday":
        return Holiday(day, name, source, exchanges)
    if kind.lower() == "session":
        return SpecialSession(day, name, source, exchanges)
    raise ValueError(f"kind {kind!r} is neither holiday nor session")


def _exchanges(text: str) -> frozenset[Exchange]:
    parts = [part.strip().upper() for part in text.split("|")]
    if not parts or any(part not in _EXCHANGES for part in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"exchanges {text!r}: write NSE|BSE, NSE or BSE")
    found = frozenset().union(*(_EXCHANGES[part] for part in parts))
    return BOTH if found == BOTH else found


def load_holiday_file(path: str | Path) -> HolidayTable:
    """The built-in table amended by the file at `path`; read once per (path, modification time)."""
    absolute = os.path.abspath(path)
    try:
        modified = os.stat(absolute).st_mtime_ns
    except OSError as exc:
        raise HolidayFileError(f"{HOLIDAYS_FILE_VARIABLE} {path}: cannot read: {exc.strerror}") from None
    return _load(absolute, modified)


@functools.lru_cache(maxsize=8)
def _load(path: str, _modified_ns: int) -> HolidayTable:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is fine
    except (OSError, UnicodeDecodeError) as exc:
        raise HolidayFileError(f"{HOLIDAYS_FILE_VARIABLE} {path}: cannot read: {exc}") from None
    return parse_holiday_file(text, path)


def default_holidays(environ: Mapping[str, str] | None = None) -> HolidayTable:
    """The table every default `MarketCalendar()` uses: built-in, amended by `SARATHI_HOLIDAYS_FILE`
    when it is set in `environ` (default: this process's environment)."""
    path = (os.environ if environ is None else environ).get(HOLIDAYS_FILE_VARIABLE, "").strip()
    return load_holiday_file(path) if path else NSE_BSE_HOLIDAYS
