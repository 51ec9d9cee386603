"""Parse and validate Dhan's detailed scrip master (REFERENCE §9.3), keeping what Sarathi trades.

Kept: index rows (`INSTRUMENT` INDEX) and the index options (`OPTIDX`) of NIFTY, BANKNIFTY and
SENSEX. Columns are read by header name (Dhan adds columns and ends rows with a comma). Every
kept row must be well formed — a positive whole lot size, a future expiry, a positive strike,
CE/PE, a tick in paise, the underlying's exchange — and the file as a whole must list the three
indices, options of each, enough rows, one lot size per (underlying, expiry) and no duplicate
(segment, security id, expiry). Any failure rejects the whole file with the reasons.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sarathi.common.domain.instruments import ExchangeSegment, Underlying

REQUIRED_COLUMNS = (
    "EXCH_ID", "SEGMENT", "SECURITY_ID", "INSTRUMENT", "UNDERLYING_SYMBOL", "SYMBOL_NAME", "DISPLAY_NAME",
    "LOT_SIZE", "SM_EXPIRY_DATE", "STRIKE_PRICE", "OPTION_TYPE", "TICK_SIZE",
)  # fmt: skip
_EXAMPLES = 5
_EXCHANGE_SEGMENT = {"NSE": ExchangeSegment.NSE_FNO, "BSE": ExchangeSegment.BSE_FNO}
_INDEX_SEGMENT = ExchangeSegment.IDX_I


class MasterRejectedError(ValueError):
    """The file is not a usable scrip master; the message lists why (the old tables stay)."""


@dataclass
class ParsedMaster:
    instruments: list[dict[str, Any]] = field(default_factory=list)
    derivatives: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not finite")
    return value


def _whole(text: str, what: str) -> int:
    value = _decimal(text, what)
    if value != value.to_integral_value() or value <= 0:
        raise ValueError(f"{what} {text!r} is not a positive whole number")
    return int(value)


def _option(row: dict[str, str], underlying: Underlying, today: date) -> dict[str, Any]:
    exchange = row["EXCH_ID"].strip()
    segment = _EXCHANGE_SEGMENT.get(exchange)
    if segment is not underlying.spec.fno_segment:
        raise ValueError(f"exchange {exchange!r} is not where {underlying} options trade")
    security_id = row["SECURITY_ID"].strip()
    if not security_id.isdigit():
        raise ValueError(f"security id {security_id!r} is not numeric")
    expiry = date.fromisoformat(row["SM_EXPIRY_DATE"].strip()[:10])
    if expiry < today:
        raise ValueError(f"expiry {expiry} is in the past (stale file?)")
    strike = _decimal(row["STRIKE_PRICE"], "strike")
    if strike <= 0:
        raise ValueError(f"strike {strike} is not positive")
    option_type = row["OPTION_TYPE"].strip()
    if option_type not in ("CE", "PE"):
        raise ValueError(f"option type {option_type!r} is not CE or PE")
    tick = _decimal(row["TICK_SIZE"], "tick size") / 100  # paise on tradable rows (§9.2)
    if tick <= 0:
        raise ValueError(f"tick size {row['TICK_SIZE']!r} is not positive")
    freeze_text = (row.get("SM_FREEZE_QTY") or "").strip()
    freeze = int(_decimal(freeze_text, "freeze quantity")) if freeze_text else 0
    return {
        "security_id": security_id, "exchange_segment": segment.wire, "underlying": underlying.value,
        "underlying_security_id": underlying.spec.security_id, "expiry": expiry, "strike": strike,
        "option_type": option_type, "lot_size": _whole(row["LOT_SIZE"], "lot size"), "tick_size": tick,
        "freeze_quantity": freeze if freeze > 0 else None, "trading_symbol": row["SYMBOL_NAME"].strip(),
        "display_name": row["DISPLAY_NAME"].strip() or None,
    }  # fmt: skip


def _index(row: dict[str, str]) -> dict[str, Any]:
    security_id = row["SECURITY_ID"].strip()
    if not security_id.isdigit():
        raise ValueError(f"index security id {security_id!r} is not numeric")
    tick_text = row["TICK_SIZE"].strip()
    return {
        "security_id": security_id, "exchange_segment": _INDEX_SEGMENT.wire,
        "symbol": row["UNDERLYING_SYMBOL"].strip() or row["SYMBOL_NAME"].strip(),
        "name": row["DISPLAY_NAME"].strip() or None, "instrument_kind": "INDEX",
        "tick_size": _decimal(tick_text, "tick size") if tick_text else Decimal("0.05"), "lot_size": 1,
    }  # fmt: skip


def parse_master(lines: Iterable[str], today: date, *, min_option_rows: int) -> ParsedMaster:
    """The kept rows of a detailed master, or `MasterRejectedError` with every reason found."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or []) if name and name.strip()]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise MasterRejectedError(f"not a detailed scrip master: missing columns {', '.join(missing)}")
    parsed, errors = ParsedMaster(), []
    names = {u.value: u for u in Underlying}
    for number, row in enumerate(reader, start=2):
        parsed.rows_read += 1
        try:
            kind = (row.get("INSTRUMENT") or "").strip()
            underlying = names.get((row.get("UNDERLYING_SYMBOL") or "").strip())
            if kind == "OPTIDX" and underlying is not None:
                parsed.derivatives.append(_option(row, underlying, today))
            elif kind == "INDEX" and (row.get("SEGMENT") or "").strip() == "I":
                parsed.instruments.append(_index(row))
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(f"line {number}: {exc}")
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
