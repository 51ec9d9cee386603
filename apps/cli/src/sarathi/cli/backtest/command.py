"""`sarathi backtest --from D1 --to D2 [--underlyings ...] [--config FILE]` on minute history, or
`sarathi backtest --recording DIR [--day D] [--compare TRADES.json]` on a recorded day.

The configuration is the services' own: `SARATHI_SIGNALS_*`, `SARATHI_EXECUTION_*` and
`SARATHI_RISK_*` from the environment, then from `--config FILE` (lines `NAME=value`, as a
`.env`), which wins. Bad input is refused in one line, exit 2, before any data is read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sarathi.cli.args import DEFAULT_SEED, seed
from sarathi.cli.data import DEFAULT_DATA_DIR, iso_day, underlyings

SLIPPAGE_DEFAULT = 1  # minute bars: a tick against us on every fill
RECORDING_SLIPPAGE_DEFAULT = 0  # recorded quotes: buys meet the ask, sells the bid, as at the sim


def ticks(text: str) -> int:
    if not text.isdigit() or int(text) > 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of ticks from 0 to 100")
    return int(text)


def add_commands(commands: Any) -> None:
    run = commands.add_parser(
        "backtest", help="the services' decision code on minute history or on a recorded day"
    )
    run.add_argument("--from", dest="first", type=iso_day, default=None, metavar="YYYY-MM-DD")
    run.add_argument("--to", dest="last", type=iso_day, default=None, metavar="YYYY-MM-DD")
    run.add_argument(
        "--recording", type=Path, default=None, metavar="DIR",
        help="a recorded day instead of minute history (`sarathi run` writes <run dir>/recording)",
    )  # fmt: skip
    run.add_argument("--day", type=iso_day, default=None, metavar="YYYY-MM-DD",
                     help="with --recording: which recorded day (default: the only one)")  # fmt: skip
    run.add_argument("--compare", type=Path, default=None, metavar="TRADES.json",
                     help="with --recording: the trades the services made that day (`sarathi run` "
                          "writes them); differences are listed, exit 1 if any")  # fmt: skip
    run.add_argument("--underlyings", type=underlyings, default=None, metavar="NIFTY,...",
                     help="default: the signals service's SARATHI_SIGNALS_UNDERLYINGS")  # fmt: skip
    run.add_argument(
        "--config", type=Path, default=None, metavar="FILE", help="SARATHI_* settings, NAME=value lines"
    )
    run.add_argument("--source", default=None, help=f"the cache's source (default sim-seed{DEFAULT_SEED})")
    run.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="with the default source: sim-seed<N>")
    run.add_argument(
        "--slippage-ticks", type=ticks, default=None,
        help=f"against us on every fill (default {SLIPPAGE_DEFAULT}; "
        f"{RECORDING_SLIPPAGE_DEFAULT} with --recording)",
    )  # fmt: skip
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

    from sarathi.cli.backtest.engine import trading_days
    from sarathi.cli.backtest.history import History, HistoryError
    from sarathi.common.domain.calendar import CalendarCoverageError, MarketCalendar

    if args.first is None or args.last is None:
        raise _Refused("--from and --to are required (or --recording DIR)")
    if args.day is not None or args.compare is not None:
        raise _Refused("--day and --compare go with --recording")
    if args.first > args.last:
        raise _Refused(f"--from {args.first} is after --to {args.last}")
    slippage = SLIPPAGE_DEFAULT if args.slippage_ticks is None else args.slippage_ticks
    config = _config(args, slippage)
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


def _config(args: argparse.Namespace, slippage_ticks: int) -> Any:
    """The settings (environment, then `--config`), or `_Refused`."""
    from pydantic import ValidationError

    try:
        if args.config is not None:
            os.environ.update(load_config_file(args.config))
        config = build_config(args.underlyings, slippage_ticks)
    except ValidationError as exc:
        raise _Refused(f"settings: {exc}") from None
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    if config.execution.trailing_jump > 0:
        raise _Refused("SARATHI_EXECUTION_TRAILING_JUMP > 0: the broker's trailing stop is not modelled")
    if config.risk.risk_evaluate_on_tick:
        raise _Refused(
            "SARATHI_RISK_EVALUATE_ON_TICK=true: risk's check on every tick is not modelled "
            "(the backtest checks at the 5-second loop's instants)"
        )
    return config


def cmd_backtest(args: argparse.Namespace) -> int:
    import asyncio

    from sarathi.cli.backtest.engine import DayResult, Engine
    from sarathi.cli.backtest.market import NOT_APPLIED
    from sarathi.cli.backtest.result import document_of
    from sarathi.cli.terminal import LiveLine
    from sarathi.common.domain.money import format_inr

    if args.recording is not None:
        return _backtest_recording(args)
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
    document = document_of(results, config, source=source, first=args.first, last=args.last)
    _write(results, document, wall=wall, not_applied=NOT_APPLIED, out=args.out)
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


def _write(
    results: Any, document: dict[str, Any], *, wall: float, not_applied: Sequence[str], out: Path
) -> None:
    """The report's files, then the summary and where the files are."""
    from sarathi.cli.backtest.result import summary
    from sarathi.cli.backtest_report import write_report

    paths = write_report(document, out)
    print(summary(results, document, wall_seconds=wall, not_applied=not_applied))
    print(f"Report: {paths.html}")
    print(f"Trades: {paths.json} (and {paths.csv.name})")


def _backtest_recording(args: argparse.Namespace) -> int:
    """`--recording DIR`: one recorded day, its report, and the comparison with `--compare`."""
    import asyncio
    import json

    from sarathi.cli.backtest.parity import compare
    from sarathi.cli.backtest.recording import RecordingError, open_recording, run_recording
    from sarathi.cli.backtest.result import document_of
    from sarathi.cli.terminal import LiveLine

    try:
        if args.first is not None or args.last is not None:
            raise _Refused("--from/--to do not go with --recording (it is one recorded day: --day)")
        expected = None
        if args.compare is not None:
            try:
                expected = json.loads(args.compare.read_text())["trades"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise _Refused(f"--compare {args.compare}: not a trades.json ({exc})") from None
        slippage = RECORDING_SLIPPAGE_DEFAULT if args.slippage_ticks is None else args.slippage_ticks
        config = _config(args, slippage)
        try:
            recording = open_recording(args.recording, args.day)
        except RecordingError as exc:
            raise _Refused(str(exc)) from None
    except _Refused as exc:
        return _error(str(exc))
    line = LiveLine()
    started = time.perf_counter()
    result = asyncio.run(
        run_recording(config, recording, progress=lambda at: line.show(f"{at:%H:%M:%S} IST"))
    )
    wall = time.perf_counter() - started
    line.clear()
    where = args.recording.resolve()
    name = where.parent.name if where.name == "recording" else where.name  # .run/latest/recording: "latest"
    document = document_of(
        [result], config, source=f"recording-{name}", first=recording.day, last=recording.day
    )
    _write([result], document, wall=wall, not_applied=(), out=args.out)
    if expected is None:
        return 0
    comparison = compare(expected, document["trades"], exact=True)
    print("\n".join(comparison.lines(left="services", right="backtest")))
    return 0 if comparison.same else 1
