"""`make bench` backtest.year: a year of sim minute data for NIFTY, BANKNIFTY and SENSEX through
the backtest engine (`sarathi.cli.backtest`). The data is the sim's model (seed 20260915),
downloaded once with `sarathi data download --source sim --strikes 3` (what strike selection
needs at its default `strikes_around_atm`) into `.bench/data`, then read from the Parquet cache.
The first run spends most of its time (tens of minutes) on that download; the figure is the
engine alone, cache read included.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import Any

FIRST, LAST = date(2025, 9, 15), date(2026, 9, 14)
DATA = Path(".bench/data")
SOURCE = "sim-seed20260915"


def run_year() -> dict[str, Any]:
    from sarathi.cli import __main__ as cli
    from sarathi.cli.backtest.command import build_config
    from sarathi.cli.backtest.engine import Engine, trading_days
    from sarathi.cli.backtest.history import History
    from sarathi.common.domain.calendar import MarketCalendar

    code = cli.main(["data", "download", "--source", "sim", "--from", FIRST.isoformat(), "--to",
                     LAST.isoformat(), "--strikes", "3", "--data-dir", str(DATA)])  # fmt: skip
    if code != 0:
        return {"error": f"download failed (exit {code})"}
    calendar = MarketCalendar()
    days = trading_days(calendar, FIRST, LAST)
    started = time.perf_counter()
    engine = Engine(build_config(["NIFTY", "BANKNIFTY", "SENSEX"], 1), History(DATA / SOURCE, calendar))
    results = asyncio.run(engine.run(days))
    wall = time.perf_counter() - started
    return {
        "trading_days": len(days),
        "wall_seconds": round(wall, 2),
        "days_per_second": round(len(days) / wall, 2),
        "trades": sum(len(r.trades) for r in results),
        "target_wall_seconds": 60,
        "bar_wall_seconds": 180,
    }
