"""Read Dhan's detailed instrument master (REFERENCE §9.3) into the sim's `Universe`.

In replay and paper modes the ticks carry REAL Dhan security ids; with `SARATHI_SIM_MASTER_FILE`
the sim lists the contracts of a real `api-scrip-master-detailed.csv` (or of
`GET /v2/instrument/{segment}`), so those ticks, frames and orders find their instruments.

How the file is read and each row validated is `sarathi.common.dhan.master` (shared with
execution's instrument sync). The sim's policy on top:

- the three index rows, `INSTRUMENT=INDEX` with `SECURITY_ID` 13, 25 (`EXCH_ID` NSE) and 51
  (BSE), segment `IDX_I`; an index the file does not list is added all the same (the sim needs
  all three: the option chain and the index levels look them up). Only the id, exchange and
  display name of index rows are read; lot 1, tick ₹0.05;
- the valid `OPTIDX` rows of NIFTY, BANKNIFTY and SENSEX. The trading symbol is `SYMBOL_NAME`
  when it has the compact shape (`NIFTY-Sep2026-24000-CE`), else it is built (BSE's `BSXOPT`
  says nothing); an empty `DISPLAY_NAME` is built too.

Every other row (equities, futures, other indices and underlyings, ...) is ignored and counted
by its `INSTRUMENT`. A row of ours that fails validation (bad id, date, number, option type,
wrong exchange, a security id already listed) is skipped and counted by reason, never fatal.
A file that is not a detailed master at all raises `MasterFileError`.

Contracts are kept whatever their expiry (the file is taken as the day's list); ids are those of
the file, which Dhan may recycle after an expiry (§9.4): load the master of the day being played.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sarathi.common.dhan.master import (
    MasterFileError,
    MasterIndex,
    MasterOption,
    Other,
    RowError,
    read_rows,
)
from sarathi.common.domain.instruments import ExchangeSegment, Underlying, underlying_by_index_id
from sarathi.common.domain.money import OPTION_TICK
from sarathi.common.logging import get_logger
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.universe_builder import INDEX_DISPLAY_NAMES, display_name, index_instrument, trading_symbol

__all__ = ["MasterFileError", "MasterReport", "MasterUniverse", "load_master", "parse_master", "read_master"]

log = get_logger(__name__)
_EXAMPLES = 10  # skipped rows quoted in the report (the rest are only counted)


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


def _index(row: MasterIndex) -> SimInstrument | None:
    """One of our three indices (on its own exchange), else None: another index is not ours."""
    underlying = underlying_by_index_id(row.security_id)
    if underlying is None or row.exchange != underlying.spec.exchange.value:
        return None  # another index (INDIA VIX, an index of the other exchange, ...)
    template = index_instrument(underlying)
    return SimInstrument(
        security_id=template.security_id,
        segment=ExchangeSegment.IDX_I,
        underlying=underlying,
        symbol=underlying.spec.name,
        display_name=row.display_name or INDEX_DISPLAY_NAMES[underlying],
        lot_size=1,
        tick_size=OPTION_TICK,
    )


def _option(row: MasterOption) -> SimInstrument:
    underlying, expiry, strike, option_type = row.underlying, row.expiry, row.strike, row.option_type
    symbol = row.symbol_name
    if not symbol.startswith(f"{underlying.spec.name}-"):
        symbol = trading_symbol(underlying, expiry, strike, option_type)
    return SimInstrument(
        security_id=row.security_id,
        segment=row.segment,
        underlying=underlying,
        symbol=symbol,
        display_name=row.display_name or display_name(underlying, expiry, strike, option_type),
        lot_size=row.lot_size,
        tick_size=row.tick_size,
        expiry=expiry,
        strike=strike,
        option_type=option_type,
        weekly=row.weekly,
        freeze_qty=row.freeze_qty,
    )


def parse_master(lines: Iterable[str], source: str = "<text>") -> MasterUniverse:
    """Parse a detailed master's lines (the text of the file, newline-terminated or not)."""
    listed: dict[str, SimInstrument] = {}
    ignored: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    examples: list[str] = []
    rows = 0
    for row in read_rows(lines, source):
        rows += 1
        instrument: SimInstrument | None = None
        reason = ""
        match row:
            case RowError():
                reason = row.reason
            case MasterIndex():
                instrument = _index(row)
            case MasterOption():
                instrument = _option(row)
            case Other():
                pass
        if instrument is not None and instrument.security_id in listed:
            reason = "SECURITY_ID listed twice"
        if reason:
            skipped[reason] += 1
            if len(examples) < _EXAMPLES:
                examples.append(f"line {row.line}: {reason}")
        elif instrument is None:
            ignored[(row.instrument if isinstance(row, Other) else "INDEX") or "(none)"] += 1
        else:
            listed[instrument.security_id] = instrument

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
