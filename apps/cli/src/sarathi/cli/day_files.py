"""A day's report files, as `sarathi run` and `sarathi report` write them.

`<stem>.html`, the page (`report_html`), and `<stem>-trades.json`, the trades document that
`sarathi backtest --recording DIR --compare` holds a replay against; the stem is
`sarathi-day-<day>-<source>` (`DayInfo.stem`: the seed of a simulated day, the mode of a deployed one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sarathi.cli.report import DayReport
from sarathi.common.domain.calendar import IST

TRADES_SCHEMA_VERSION = 1
TRADE_KEYS = (
    "contract", "underlying", "security_id", "lots", "quantity", "entries", "entry_at", "entry_price",
    "exit_at", "exit_price", "exit_reason", "gross", "charges",
)  # fmt: skip


def write_report(
    report: DayReport,
    indices: Mapping[str, Sequence[tuple[datetime, Decimal]]],
    start: datetime,
    end: datetime,
    *,
    report_dir: Path,
    say: Callable[[str], None],
) -> Path:
    """Both files in `report_dir` (created), each named to `say`; the trades document's path.

    `indices`: each traded index's closes through the day, charted from `start` to `end`.
    """
    from sarathi.cli.report_html import render_html

    report_dir.mkdir(parents=True, exist_ok=True)
    stem = report.info.stem
    html = report_dir / f"{stem}.html"
    html.write_text(render_html(report, indices, start, end), encoding="utf-8")
    trades = report_dir / f"{stem}-trades.json"
    trades.write_text(json.dumps(trades_json(report), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"\nReport: {html}\nTrades: {trades}")
    return trades


def trades_json(report: DayReport) -> dict[str, Any]:
    """The day's trades as a JSON document: `{"schema_version", "day", "seed", "trades": [...]}`.

    Times are ISO-8601 in IST (`+05:30`), money and prices strings of rupees to the paisa, an open
    trade's exit fields null; `seed` is null for a deployed day. Version 1; a change that breaks a
    reader bumps `schema_version`.
    """

    def value(v: object) -> object:
        if isinstance(v, datetime):
            return v.astimezone(IST).isoformat()
        if isinstance(v, Decimal):
            return f"{v:.2f}"  # rupees to the paisa
        return v

    return {
        "schema_version": TRADES_SCHEMA_VERSION,
        "day": report.info.day.isoformat(),
        "seed": report.info.seed,
        "trades": [
            {k: value(getattr(t, k)) for k in TRADE_KEYS} | {"net": value(t.net)} for t in report.trades
        ],
    }
