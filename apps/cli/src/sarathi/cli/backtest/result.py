"""The backtest's result: trades.json (the simulated day's document shape), daily P&L, a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sarathi.cli.backtest.engine import BacktestTrade, Config, DayResult
from sarathi.cli.prices import PriceSource, prices_line
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import format_inr

TRADES_SCHEMA_VERSION = 1  # as `sarathi run`'s trades.json; the backtest adds fields, removes none
TRADE_KEYS = (
    "contract", "underlying", "security_id", "lots", "quantity", "entries", "entry_at", "entry_price",
    "exit_at", "exit_price", "exit_reason", "gross", "charges",
)  # fmt: skip


def _value(v: object) -> object:
    if isinstance(v, datetime):
        return v.astimezone(IST).isoformat()
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return v


def trade_row(trade: BacktestTrade) -> dict[str, Any]:
    row = {k: _value(getattr(trade, k)) for k in TRADE_KEYS} | {"net": _value(trade.net)}
    return row | ({"note": trade.note} if trade.note else {})


def trades_json(
    results: Sequence[DayResult],
    *,
    source: str,
    first: date,
    last: date,
    underlyings: Sequence[str],
    daily_loss_limit: Decimal,
) -> dict[str, Any]:
    """The document `backtest_report.write_report` reads (its module says each field)."""
    return {
        "schema_version": TRADES_SCHEMA_VERSION,
        "day": first.isoformat() if first == last else None,
        "seed": None,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "source": source,
        "prices": prices_line(PriceSource.of(source), source),  # the reports' first line
        "underlyings": list(underlyings),
        "daily_loss_limit_inr": f"{daily_loss_limit:.2f}",
        "trades": [trade_row(t) for r in results for t in r.trades],
        "days": [daily_row(r) for r in results],
    }


def document_of(
    results: Sequence[DayResult], config: Config, *, source: str, first: date, last: date
) -> dict[str, Any]:
    """`trades_json` of a run with these settings (its underlyings, risk's daily loss limit)."""
    return trades_json(
        results, source=source, first=first, last=last,
        underlyings=[u.value for u in config.underlyings],
        daily_loss_limit=config.risk.risk_daily_loss_limit_inr,
    )  # fmt: skip


def daily_row(result: DayResult) -> dict[str, Any]:
    gross = sum((t.gross for t in result.trades), Decimal(0))
    charges = sum((t.charges for t in result.trades), Decimal(0))
    return {
        "day": result.day.isoformat(), "trades": len(result.trades), "signals": result.signals,
        "placed": result.placed, "unfilled": result.unfilled, "refused": dict(sorted(result.refused.items())),
        "halted": result.halted, "gross": f"{gross:.2f}", "charges": f"{charges:.2f}",
        "net": f"{gross - charges:.2f}",
        "missing": result.missing,
    }  # fmt: skip


def summary(
    results: Sequence[DayResult],
    document: Mapping[str, Any],
    *,
    wall_seconds: float,
    not_applied: Sequence[str],
) -> str:
    """The printed summary: its figures are the report's (`backtest_report.statistics`), counted once."""
    from sarathi.cli.backtest_report import read_document, statistics

    stats = statistics(read_document(document))
    traded = [r for r in results if not r.missing or len(r.missing) < 3]
    refused: Counter[str] = Counter()
    for r in results:
        refused.update(r.refused)
    gates = ", ".join(f"{gate} {n}" for gate, n in refused.most_common())
    lines = [
        str(document["prices"]),
        f"Days {len(results)} ({len(traded)} with data), {wall_seconds:.1f}s wall, "
        f"{len(results) / wall_seconds if wall_seconds > 0 else 0:.1f} days/s",
        f"Trades {stats.trades}: {stats.won} won, net {format_inr(stats.net)} after "
        f"{format_inr(stats.charges)} of charges, "
        f"max drawdown (daily) {format_inr(stats.max_drawdown.amount)}",
        f"Signals {sum(r.signals for r in results)}: {sum(r.placed for r in results)} placed, "
        f"{sum(refused.values())} refused ({gates or 'none'}), "
        f"{sum(r.unfilled for r in results)} entries never filled",
        f"Days halted by the daily loss limit: {sum(r.halted for r in results)}",
    ]
    missing = sorted({f"{r.day} {u}" for r in results for u in r.missing})
    if missing:
        lines.append(f"No history for {len(missing)} underlying-days (first: {', '.join(missing[:3])})")
    lines.extend(f"Note: {r.day} {note}" for r in results for note in r.notes)
    lines.extend(f"Not applied on history: {item}" for item in not_applied)
    return "\n".join(lines)
