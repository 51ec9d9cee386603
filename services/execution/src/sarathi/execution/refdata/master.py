"""Execution's policy on Dhan's detailed scrip master (REFERENCE §9.3), read by `sarathi.common.dhan.master`.

Kept: every index row of segment I, and the valid index options (`OPTIDX`) of NIFTY, BANKNIFTY
and SENSEX with a future expiry. The file must also have `SYMBOL_NAME` and `DISPLAY_NAME`, and as a
whole list the three indices, options of each, enough rows, one lot size per (underlying, expiry)
and no duplicate (segment, security id, expiry). Any failure rejects the whole file with the
reasons (the old tables stay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sarathi.common.dhan import master as common_master
from sarathi.common.dhan.master import (
    MasterFileError,
    MasterIndex,
    MasterOption,
    RowError,
    number,
    read_rows,
    security_id,
)
from sarathi.common.domain.instruments import ExchangeSegment, Underlying

REQUIRED_COLUMNS = (*common_master.REQUIRED_COLUMNS, "SYMBOL_NAME", "DISPLAY_NAME")
_EXAMPLES = 5
_INDEX_SEGMENT = ExchangeSegment.IDX_I


class MasterRejectedError(ValueError):
    """The file is not a usable scrip master; the message lists why (the old tables stay)."""


@dataclass
class ParsedMaster:
    instruments: list[dict[str, Any]] = field(default_factory=list)
    derivatives: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0


def _option(row: MasterOption, today: date) -> dict[str, Any]:
    if row.expiry < today:
        raise ValueError(f"expiry {row.expiry} is in the past (stale file?)")
    underlying = row.underlying
    return {
        "security_id": row.security_id, "exchange_segment": row.segment.wire, "underlying": underlying.value,
        "underlying_security_id": underlying.spec.security_id, "expiry": row.expiry, "strike": row.strike,
        "option_type": row.option_type.value, "lot_size": row.lot_size, "tick_size": row.tick_size,
        "freeze_quantity": row.freeze_qty or None, "trading_symbol": row.symbol_name,
        "display_name": row.display_name or None,
    }  # fmt: skip


def _index(row: MasterIndex) -> dict[str, Any]:
    return {
        "security_id": security_id(row.security_id), "exchange_segment": _INDEX_SEGMENT.wire,
        "symbol": row.underlying_symbol or row.symbol_name, "name": row.display_name or None,
        "instrument_kind": "INDEX", "lot_size": 1,
        "tick_size": number(row.tick_size, "TICK_SIZE") if row.tick_size else Decimal("0.05"),
    }  # fmt: skip


def parse_master(lines: Iterable[str], today: date, *, min_option_rows: int) -> ParsedMaster:
    """The kept rows of a detailed master, or `MasterRejectedError` with every reason found."""
    parsed, errors = ParsedMaster(), []
    try:
        for row in read_rows(lines, "the scrip master", REQUIRED_COLUMNS):
            parsed.rows_read += 1
            try:
                if isinstance(row, RowError):
                    raise ValueError(row.reason)
                if isinstance(row, MasterOption):
                    parsed.derivatives.append(_option(row, today))
                elif isinstance(row, MasterIndex) and row.segment == "I":
                    parsed.instruments.append(_index(row))
            except ValueError as exc:
                errors.append(f"line {row.line}: {exc}")
    except MasterFileError as exc:
        raise MasterRejectedError(str(exc)) from None
    problems = errors[:_EXAMPLES] + (
        [f"… and {len(errors) - _EXAMPLES} more bad rows"] if len(errors) > _EXAMPLES else []
    )
    problems += _whole_file_problems(parsed, min_option_rows)
    if problems:
        raise MasterRejectedError("; ".join(problems))
    return parsed


def _whole_file_problems(parsed: ParsedMaster, min_option_rows: int) -> list[str]:
    problems = []
    index_ids = {row["security_id"] for row in parsed.instruments}
    per_underlying = Counter(row["underlying"] for row in parsed.derivatives)
    for underlying in Underlying:
        if underlying.spec.security_id not in index_ids:
            problems.append(f"index {underlying} (IDX_I {underlying.spec.security_id}) is missing")
        if per_underlying[underlying.value] == 0:
            problems.append(f"no {underlying} options")
    if len(parsed.derivatives) < min_option_rows:
        problems.append(
            f"only {len(parsed.derivatives)} index option rows (at least {min_option_rows} expected)"
        )
    keys = Counter((r["exchange_segment"], r["security_id"], r["expiry"]) for r in parsed.derivatives)
    duplicates = [key for key, count in keys.items() if count > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate (segment, security id, expiry), e.g. {duplicates[0]}")
    lots: dict[tuple[str, date], set[int]] = {}
    for row in parsed.derivatives:
        lots.setdefault((row["underlying"], row["expiry"]), set()).add(row["lot_size"])
    mixed = {key: sizes for key, sizes in lots.items() if len(sizes) > 1}
    if mixed:
        (name, expiry), sizes = next(iter(mixed.items()))
        problems.append(f"{name} {expiry} lists several lot sizes {sorted(sizes)}")
    return problems
