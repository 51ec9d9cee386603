"""The backtest's result: trades.json (the simulated day's document shape), daily P&L, a summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sarathi.cli.backtest.engine import BacktestTrade, DayResult
from sarathi.cli.prices import PriceSource, prices_line
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.money import format_inr

TRADES_SCHEMA_VERSION = 1  # as `sarathi run`'s trades.json; the backtest adds fields, removes none
TRADE_KEYS = (
    "contract", "underlying", "security_id", "lots", "quantity", "entries", "entry_at", "entry_price",
    "exit_at", "exit_price", "exit_reason", "gross", "charges",
)  # fmt: skip


def where_prices_came_from(source: str) -> str:
    """The summary's first line (the reports' own sentence): `source` is the cache's name."""
    return prices_line(PriceSource.of(source), source)


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
        "prices": where_prices_came_from(source),
        "underlyings": list(underlyings),
        "daily_loss_limit_inr": f"{daily_loss_limit:.2f}",
        "trades": [trade_row(t) for r in results for t in r.trades],
        "days": [daily_row(r) for r in results],
    }


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
    results: Sequence[DayResult], *, source: str, wall_seconds: float, not_applied: Sequence[str]
) -> str:
    trades = [t for r in results for t in r.trades]
    net = sum((t.net for t in trades), Decimal(0))
    charges = sum((t.charges for t in trades), Decimal(0))
    wins = sum(t.net > 0 for t in trades)
    traded = [r for r in results if not r.missing or len(r.missing) < 3]
    refused: Counter[str] = Counter()
    for r in results:
        refused.update(r.refused)
    gates = ", ".join(f"{gate} {n}" for gate, n in refused.most_common())
    equity, peak, drawdown = Decimal(0), Decimal(0), Decimal(0)
    for r in results:
        equity += r.net
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
    lines = [
        where_prices_came_from(source),
        f"Days {len(results)} ({len(traded)} with data), {wall_seconds:.1f}s wall, "
        f"{len(results) / wall_seconds if wall_seconds > 0 else 0:.1f} days/s",
        f"Trades {len(trades)}: {wins} won, net {format_inr(net)} after {format_inr(charges)} of charges, "
        f"max drawdown (daily) {format_inr(drawdown)}",
        f"Signals {sum(r.signals for r in results)}: {sum(r.placed for r in results)} placed, "
        f"{sum(refused.values())} refused ({gates or 'none'}), "
        f"{sum(r.unfilled for r in results)} entries never filled",
        f"Days halted by the daily loss limit: {sum(r.halted for r in results)}",
    ]
    missing = sorted({f"{r.day} {u}" for r in results for u in r.missing})
    if missing:
        lines.append(f"No history for {len(missing)} underlying-days (first: {', '.join(missing[:3])})")
    lines.extend(f"Not applied on history: {item}" for item in not_applied)
    return "\n".join(lines)
