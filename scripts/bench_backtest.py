"""`make bench` backtest.year: a year of sim minute data for NIFTY, BANKNIFTY and SENSEX through
the backtest engine (`sarathi.cli.backtest`).

The data is the sim's model (seed 20260915, anchored as `sarathi data download --source sim`
anchors it), written into `.bench/data` by the download's own planner and writer but with the
sim's history functions called in process (`sarathi.sim.model_history.ModelHistory`: the files
are those the HTTP download writes, without Dhan's 5 requests/s), one process per underlying.
`--strikes 3` is what strike selection needs at its default `strikes_around_atm`. What is cached
is not prepared again, so `cache_seconds` is the first run's figure (0 after).

The engine's figure (`wall_seconds`, `days_per_second`) includes reading the cache. Its
reference, in the same run over the same files: `read_only_seconds`, a pure-Python loop that
reads each day as the engine does (`History.day`) and touches every index bar and option row:
the floor a backtest over this data cannot go below; the engine's decisions are the rest.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

FIRST, LAST = date(2025, 9, 15), date(2026, 9, 14)
DATA = Path(".bench/data")
SEED = 20260915
SOURCE = f"sim-seed{SEED}"
UNDERLYINGS = ("NIFTY", "BANKNIFTY", "SENSEX")
STRIKES = 3


def prepare_underlying(name: str, root: Path, first: date, last: date) -> tuple[int, int]:
    """Write `name`'s months of [first, last] from the sim's model; (requests, rows)."""
    from sarathi.cli.args import DEFAULT_DAY
    from sarathi.cli.datasim import sim_env
    from sarathi.cli.download import download, plan, rolling_keys
    from sarathi.common.domain.calendar import MarketCalendar
    from sarathi.common.domain.instruments import Underlying
    from sarathi.sim.model_history import ModelHistory
    from sarathi.sim.settings import SimSettings

    env = sim_env(SEED, DEFAULT_DAY)  # the settings of the sim `data download` starts
    settings = SimSettings.model_validate({key.removeprefix("SARATHI_").lower(): v for key, v in env.items()})
    keys = rolling_keys(("WEEK", "MONTH"), (1,), STRIKES)
    plans = plan(root, [Underlying(name)], first, last, keys, MarketCalendar())
    stats = asyncio.run(download(ModelHistory(settings), plans, lambda _text, _milestone: None))
    return stats.requests, stats.rows


def prepare_cache(root: Path, first: date, last: date) -> dict[str, Any]:
    started = time.perf_counter()
    workers = min(len(UNDERLYINGS), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(prepare_underlying, UNDERLYINGS, [root] * 3, [first] * 3, [last] * 3))
    return {
        "cache_seconds": round(time.perf_counter() - started, 1),
        "cache_requests": sum(requests for requests, _ in done),
        "cache_rows_written": sum(rows for _, rows in done),
        "cache_processes": workers,
    }


def read_only(root: Path, days: list[date]) -> tuple[float, int]:
    """The reference: every day read as the engine reads it, every bar and row touched."""
    from sarathi.cli.backtest.history import History
    from sarathi.common.domain.calendar import MarketCalendar
    from sarathi.common.domain.instruments import Underlying

    started = time.perf_counter()
    history, touched = History(root, MarketCalendar()), 0
    for day in days:
        for name in UNDERLYINGS:
            data = history.day(Underlying(name), day)
            if data is None:
                continue
            touched += sum(1 for bar in data.minutes if bar.close)
            touched += sum(1 for row in data.options.iter_rows() if row[0] is not None)
    return time.perf_counter() - started, touched


def run_year() -> dict[str, Any]:
    from sarathi.cli.backtest.command import build_config
    from sarathi.cli.backtest.engine import Engine, trading_days
    from sarathi.cli.backtest.history import History
    from sarathi.common.domain.calendar import MarketCalendar

    cache = prepare_cache(DATA / SOURCE, FIRST, LAST)
    calendar = MarketCalendar()
    days = trading_days(calendar, FIRST, LAST)
    started = time.perf_counter()
    engine = Engine(build_config(list(UNDERLYINGS), 1), History(DATA / SOURCE, calendar))
    results = asyncio.run(engine.run(days))
    wall = time.perf_counter() - started
    reference, rows = read_only(DATA / SOURCE, days)
    return cache | {
        "trading_days": len(days),
        "wall_seconds": round(wall, 2),
        "days_per_second": round(len(days) / wall, 2),
        "trades": sum(len(r.trades) for r in results),
        "read_only_seconds": round(reference, 2),
        "read_only_days_per_second": round(len(days) / reference, 2),
        "read_only_rows_touched": rows,
        "engine_over_read_only": round(wall / reference, 2),
        "target_wall_seconds": 60,
        "bar_wall_seconds": 180,
    }
