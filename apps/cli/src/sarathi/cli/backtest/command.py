"""`sarathi backtest --from D1 --to D2 [--underlyings ...] [--config FILE]`.

The configuration is the services' own: `SARATHI_SIGNALS_*`, `SARATHI_EXECUTION_*` and
`SARATHI_RISK_*` from the environment, then from `--config FILE` (lines `NAME=value`, as a
`.env`), which wins. Bad input is refused in one line, exit 2, before any data is read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from sarathi.cli.args import DEFAULT_SEED, seed
from sarathi.cli.data import DEFAULT_DATA_DIR, iso_day, underlyings

SLIPPAGE_DEFAULT = 1


def ticks(text: str) -> int:
    if not text.isdigit() or int(text) > 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of ticks from 0 to 100")
    return int(text)


def add_commands(commands: Any) -> None:
    run = commands.add_parser("backtest", help="the services' decision code on minute history")
    run.add_argument("--from", dest="first", type=iso_day, required=True, metavar="YYYY-MM-DD")
    run.add_argument("--to", dest="last", type=iso_day, required=True, metavar="YYYY-MM-DD")
    run.add_argument("--underlyings", type=underlyings, default=None, metavar="NIFTY,...",
                     help="default: the signals service's SARATHI_SIGNALS_UNDERLYINGS")  # fmt: skip
    run.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="SARATHI_* settings, NAME=value lines"
    )
    run.add_argument("--source", default=None, help=f"the cache's source (default sim-seed{DEFAULT_SEED})")
    run.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="with the default source: sim-seed<N>")
    run.add_argument(
        "--slippage-ticks", type=ticks, default=SLIPPAGE_DEFAULT, help="against us on every fill (default 1)"
    )
    default_dir = os.environ.get("SARATHI_DATA_DIR", DEFAULT_DATA_DIR)
    run.add_argument("--data-dir", type=Path, default=Path(default_dir), help=f"(default {default_dir})")
    run.add_argument("--out", type=Path, default=Path(".run/backtests"), help="where trades.json goes")
    run.set_defaults(handler=cmd_backtest, parser=run)


def _error(message: str) -> int:
    print(f"sarathi backtest: error: {message}", file=sys.stderr)
    return 2


def load_config_file(path: Path) -> dict[str, str]:
    """The `SARATHI_*` lines of `path`; anything else is refused (a typo must not pass silently)."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise ValueError(f"--config {path}: no such file")
    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    foreign = [k for k in values if not k.upper().startswith("SARATHI_")]
    if foreign:
        raise ValueError(f"--config {path}: not a Sarathi setting: {', '.join(foreign)}")
    return values


class _Refused(Exception):  # noqa: N818 - a refusal of the command line, printed in one line
    pass


def _prepare(args: argparse.Namespace) -> tuple[Any, Any, list[date], str]:
    """Settings, history and days, or `_Refused` with the reason (before any data is read)."""
    from pydantic import ValidationError

    from sarathi.cli.backtest.engine import trading_days
    from sarathi.cli.backtest.history import History, HistoryError
    from sarathi.common.domain.calendar import CalendarCoverageError, MarketCalendar

    if args.first > args.last:
        raise _Refused(f"--from {args.first} is after --to {args.last}")
    try:
        if args.config is not None:
            os.environ.update(load_config_file(args.config))
        config = build_config(args.underlyings, args.slippage_ticks)
    except ValidationError as exc:
        raise _Refused(f"settings: {exc}") from None
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    if config.execution.trailing_jump > 0:
        raise _Refused("SARATHI_EXECUTION_TRAILING_JUMP > 0: the broker's trailing stop is not modelled")
    source = args.source or f"sim-seed{args.seed}"
    calendar = MarketCalendar()
    try:
        days = trading_days(calendar, args.first, args.last)
        history = History(args.data_dir / source, calendar)
    except (HistoryError, CalendarCoverageError) as exc:
        raise _Refused(str(exc)) from None
    if not days:
        raise _Refused(f"no trading day from {args.first} to {args.last}")
    return config, history, days, source


def cmd_backtest(args: argparse.Namespace) -> int:
    import asyncio

    from sarathi.cli.backtest.engine import DayResult, Engine
    from sarathi.cli.backtest.market import NOT_APPLIED
    from sarathi.cli.backtest.result import summary, trades_json
    from sarathi.cli.backtest_report import write_report
    from sarathi.cli.terminal import LiveLine
    from sarathi.common.domain.money import format_inr

    try:
        config, history, days, source = _prepare(args)
    except _Refused as exc:
        return _error(str(exc))
    line = LiveLine()
    started = time.perf_counter()

    def progress(result: DayResult) -> None:
        line.show(f"{result.day}  trades {len(result.trades)}  net {format_inr(result.net)}")

    results = asyncio.run(Engine(config, history).run(days, progress))
    wall = time.perf_counter() - started
    line.clear()
    if all(len(r.missing) == len(config.underlyings) for r in results):
        wanted = ",".join(u.value for u in config.underlyings)
        return _error(
            f"no history in {args.data_dir / source} for {args.first}..{args.last}: "
            f"sarathi data download --from {args.first} --to {args.last} --underlyings {wanted}"
        )
    document = trades_json(
        results, source=source, first=args.first, last=args.last,
        underlyings=[u.value for u in config.underlyings],
        daily_loss_limit=config.risk.risk_daily_loss_limit_inr,
    )  # fmt: skip
    paths = write_report(document, args.out)
    print(summary(results, document, wall_seconds=wall, not_applied=NOT_APPLIED))
    print(f"Report: {paths.html}")
    print(f"Trades: {paths.json} (and {paths.csv.name})")
    return 0


def build_config(names: list[str] | None, slippage_ticks: int) -> Any:
    """The services' settings from the environment, and the fill model."""
    from sarathi.cli.backtest.engine import Config
    from sarathi.cli.backtest.fills import FillModel
    from sarathi.common.domain.instruments import Underlying
    from sarathi.execution.settings import ExecutionSettings
    from sarathi.risk.settings import RiskSettings
    from sarathi.signals.settings import SignalsSettings

    signals = SignalsSettings()
    chosen = tuple(Underlying(n) for n in names) if names else signals.underlyings
    return Config(signals, ExecutionSettings(), RiskSettings(), FillModel(slippage_ticks), chosen)
