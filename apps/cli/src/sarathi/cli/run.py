"""`sarathi run`: a whole simulated trading day in one command, with a report.

Starts NATS and PostgreSQL (wheels, unless `NATS_URL` / `DATABASE_URL`), migrates, starts sim
with its clock paused at 09:15 IST, syncs the instruments from it, starts the five services,
runs the session to 15:30 at `--speed` with a live progress line, prints the report, writes it
as HTML (and the trades as JSON) under `--report-dir`, and stops everything it started. The day
is recorded in `<run dir>/recording` (the feed's frames, the Dhan replies signals and execution
acted on, the instruments) for `sarathi backtest --recording`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sarathi.cli import args as cli_args
from sarathi.cli.terminal import LiveLine

# Imported by `sarathi --help` too: the day's machinery (httpx, SQLAlchemy, NATS) is imported
# by the handler, not here.
if TYPE_CHECKING:
    from sarathi.cli import day as days
    from sarathi.cli.progress import Sample
    from sarathi.cli.report import DayReport


_live = LiveLine()


def say(text: str) -> None:
    _live.clear()
    print(text, flush=True)


def _waiting(text: str) -> None:
    _live.show(text)


def plan_of(args: argparse.Namespace) -> days.DayPlan:
    from sarathi.cli import day as days

    return days.DayPlan(day=args.date, seed=args.seed, speed=args.speed)


class _RefusedError(Exception):
    """A problem with the command line or its environment, found before anything started."""


def _prepare(args: argparse.Namespace) -> tuple[Path, Path, dict[str, int]]:
    """The run and report directories (created) and the services' ports; `_RefusedError` if not."""
    from sarathi.cli import day as days
    from sarathi.common.domain.holiday_file import HolidayFileError, default_holidays

    try:
        ports = days.service_ports(args.base_port)
        default_holidays()  # every service would refuse to start on a bad SARATHI_HOLIDAYS_FILE
    except (ValueError, HolidayFileError) as exc:
        raise _RefusedError(str(exc)) from None
    run_dir = Path(args.run_dir).resolve()
    report_dir = Path(args.report_dir)
    for what, directory in (("--run-dir", run_dir), ("--report-dir", report_dir)):
        try:
            directory.mkdir(parents=True, exist_ok=True)  # checked by `cli_args.writable_dir` already
        except OSError as exc:
            why = exc.strerror or exc
            raise _RefusedError(f"argument {what}: cannot write to {directory}: {why}") from None
    from sarathi.cli import infra

    infra.wipe(run_dir)  # each run starts from empty servers (a cluster outside run_dir included)
    return run_dir, report_dir, ports


def _migrate(url: str) -> str | None:
    """Upgrade the database; what went wrong in one line (the operator's to fix), or None."""
    from sarathi.common.db import migrate
    from sarathi.common.db.engine import display_url, first_line

    try:
        migrate.upgrade(url)
    except Exception as exc:  # server down, wrong URL: one line, no traceback
        return f"cannot migrate {display_url(url)}: {first_line(exc)}"
    return None


def cmd_run(args: argparse.Namespace) -> int:
    from sarathi.cli import day as days
    from sarathi.cli.infra import infrastructure
    from sarathi.cli.progress import ProgressLine
    from sarathi.cli.supervisor import SupervisorError
    from sarathi.common import devservers

    try:  # everything that can be refused is, before NATS, PostgreSQL or a service starts
        run_dir, report_dir, ports = _prepare(args)
    except _RefusedError as exc:
        print(f"sarathi run: error: {exc}", file=sys.stderr)
        return 2
    plan = plan_of(args)
    # SIGTERM (a `kill`, a CI timeout) stops what this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    say(f"Sarathi: a simulated trading day in sim mode (logs in {run_dir / 'logs'})")
    started = time.monotonic()
    pids: list[int] = []
    try:
        with infrastructure(run_dir, say) as urls:
            say("Migrating the database ...")
            if failed := _migrate(urls["DATABASE_URL"]):
                say(f"\nsarathi run failed: {failed}")
                return 1
            say("Starting sim and the five services ...")
            with days.system(plan, urls, run_dir, ports=ports, say=say, on_wait=_waiting) as running:
                pids = running.pids()
                _waiting("")
                say("Ports: " + ", ".join(f"{name} {port}" for name, port in ports.items()))
                say(f"All six services ready after {time.monotonic() - started:.0f}s. Trading "
                    f"{plan.start_at:%H:%M}–{plan.end_at:%H:%M} IST at {plan.speed}× ...")  # fmt: skip
                session_started = time.monotonic()
                samples = days.run_session(running, plan, ProgressLine())
                wall = time.monotonic() - session_started
                say(
                    f"Session over at {samples[-1].market_time:%H:%M:%S} IST; reconciling with the broker ..."
                )
                if plan.held:
                    say(f"Holds: {days.holds_summary(running.holds)}.")
                report, trades = _report(running, plan, samples, wall, report_dir)
                recording = days.recording_dir(run_dir)
                say(f"Recording: {recording}\n  replay it: sarathi backtest --recording {recording} "
                    f"--compare {trades}")  # fmt: skip
                if args.keep_running:
                    say("\nThe services keep running (clock paused at the session's end) until Ctrl-C ...")
                    _wait_for_interrupt()
                say("\nStopping services ...")
    except (SupervisorError, devservers.DevServerError) as exc:
        say(f"\nsarathi run failed: {exc}")
        return 1
    except KeyboardInterrupt:
        say("\nInterrupted: everything this run started has been stopped.")
        return 130
    left = days.still_running(pids) + _processes_under(run_dir)
    if left:
        say(f"Still running after shutdown: {left}")
        return 1
    say(f"Stopped. Nothing left running. Total wall time {time.monotonic() - started:.0f}s.")
    return 0 if report.books_match else 1


def _report(
    running: days.System, plan: days.DayPlan, samples: list[Sample], wall: float, report_dir: Path
) -> tuple[DayReport, Path]:
    """Once our books agree with the broker's (or the wait is over): the report, printed and written
    (the trades document's path)."""
    from sarathi.cli import day as days
    from sarathi.cli.day_files import write_report
    from sarathi.cli.prices import sim_recording
    from sarathi.cli.report import RunInfo, build_report, render_text

    books, state = days.settle(running)
    info = RunInfo(plan.day, plan.seed, plan.speed, wall, plan.market_seconds, sim_recording(running.env))
    indices = _indices(running.sim, plan.day, samples, books_underlyings(books))
    report = build_report(books, state["broker"], info, indices.get("NIFTY", ()))
    say("")
    say(render_text(report))
    return report, write_report(report, indices, plan.start_at, plan.end_at, report_dir=report_dir, say=say)


def books_underlyings(books: Any) -> list[str]:
    found = {c.underlying for c in books.contracts.values()}
    return ["NIFTY", *sorted(found - {"NIFTY"})]


def _indices(sim: Any, day: date, samples: Sequence[Sample], names: Sequence[str]) -> dict[str, Any]:
    """Each traded index's 1-minute closes from the sim; NIFTY from the progress samples if need be."""
    out: dict[str, Any] = {}
    for name in names:
        series = sim.index_minutes(name, day)
        if name == "NIFTY" and len(series) < 2:
            series = [(s.market_time, s.nifty) for s in samples if s.nifty is not None]
        out[name] = series
    return out


def _processes_under(run_dir: Path) -> list[int]:
    """Processes whose command line names the run directory (the NATS and PostgreSQL we started)."""
    found, ours = [], {os.getpid(), os.getppid()}
    for proc in Path("/proc").glob("[0-9]*"):
        if int(proc.name) in ours:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(run_dir) in cmdline:
            found.append(int(proc.name))
    return found


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


def add_command(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="a whole simulated trading day through every service, with a report"
    )
    run.add_argument(
        "--seed", type=cli_args.seed, default=cli_args.DEFAULT_SEED,
        help="market seed, 0 or more (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--speed", type=cli_args.speed, default=cli_args.DEFAULT_SPEED,
        help="market seconds per wall second between holds, 1–2000 (default %(default)s: the day,"
        " held at every step while a position or order is at stake, in about two minutes)",
    )  # fmt: skip
    run.add_argument(
        "--date", type=cli_args.trading_day, default=cli_args.DEFAULT_DAY,
        help="the trading day to simulate, YYYY-MM-DD; a weekend, an exchange holiday or a year"
        " the market calendar does not cover is refused (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--keep-running", action="store_true", help="after the report, keep the system up until Ctrl-C"
    )
    run.add_argument(
        "--report-dir", type=cli_args.writable_dir, default=".run/reports",
        help="where the HTML report goes (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--run-dir", type=cli_args.writable_dir, default=".run/latest",
        help="logs and server data (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--base-port", type=cli_args.base_port, default=None,
        help="the services' HTTP ports: sim on this one, feed +1, signals +2, execution +3, orders +4,"
        " risk +5 (default: free ports; SARATHI_<SERVICE>_HTTP_PORT fixes one service's port)",
    )  # fmt: skip
    run.set_defaults(handler=cmd_run)
