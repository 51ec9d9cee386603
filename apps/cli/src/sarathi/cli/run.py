"""`sarathi run`: a whole simulated trading day in one command, with a report.

Starts NATS and PostgreSQL (wheels, unless `NATS_URL` / `DATABASE_URL`), migrates, starts sim
with its clock paused at 09:15 IST, syncs the instruments from it, starts the five services,
runs the session to 15:30 at `--speed` with a live progress line, prints the report, writes it
as HTML (and the trades as JSON) under `--report-dir`, and stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sarathi.cli import day as days
from sarathi.cli import infra
from sarathi.cli.infra import infrastructure
from sarathi.cli.progress import ProgressLine, Sample
from sarathi.cli.report import DayReport, RunInfo, build_report, render_text
from sarathi.cli.report_html import render_html
from sarathi.cli.supervisor import SupervisorError
from sarathi.common import devservers
from sarathi.common.db import migrate


def say(text: str) -> None:
    print(text, flush=True)


def _waiting(text: str) -> None:
    if sys.stdout.isatty():
        print(f"\r\033[K  {text}", end="", flush=True)


def plan_of(args: argparse.Namespace) -> days.DayPlan:
    return days.DayPlan(day=args.date, seed=args.seed, speed=args.speed)


def cmd_run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve()
    infra.wipe(run_dir)  # each run starts from empty servers (a cluster outside run_dir included)
    run_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_of(args)
    # SIGTERM (a `kill`, a CI timeout) stops what this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    say(f"Sarathi: a simulated trading day in sim mode (logs in {run_dir / 'logs'})")
    started = time.monotonic()
    pids: list[int] = []
    try:
        with infrastructure(run_dir, say) as urls:
            say("Migrating the database ...")
            migrate.upgrade(urls["DATABASE_URL"])
            say("Starting sim and the five services ...")
            with days.system(plan, urls, run_dir, say=say, on_wait=_waiting) as running:
                pids = running.pids()
                _waiting("")
                say(f"All six services ready after {time.monotonic() - started:.0f}s. Trading "
                    f"{plan.start_at:%H:%M}–{plan.end_at:%H:%M} IST at {plan.speed}× ...")  # fmt: skip
                session_started = time.monotonic()
                samples = days.run_session(running, plan, ProgressLine())
                wall = time.monotonic() - session_started
                say(
                    f"Session over at {samples[-1].market_time:%H:%M:%S} IST; reconciling with the broker ..."
                )
                if plan.hold_at_bar_closes:
                    say(f"Bar closes: {running.barriers.summary()}.")
                if plan.hold_at_bar_closes and plan.hold_at_steps:
                    say(f"Steps while exposed: {running.steps.summary()}.")
                books, state = days.settle(running)
                info = RunInfo(plan.day, plan.seed, plan.speed, wall, plan.market_seconds)
                indices = _indices(running.sim, plan.day, samples, books_underlyings(books))
                report = build_report(books, state["broker"], info, indices.get("NIFTY", ()))
                say("")
                say(render_text(report))
                _write(report, indices, plan, Path(args.report_dir))
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


def _write(report: DayReport, indices: Mapping[str, Any], plan: days.DayPlan, report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    stem = f"sarathi-day-{plan.day}-seed{plan.seed}"
    html = report_dir / f"{stem}.html"
    html.write_text(render_html(report, indices, plan.start_at, plan.end_at), encoding="utf-8")
    trades = report_dir / f"{stem}-trades.json"
    trades.write_text(json.dumps(trades_json(report), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"\nReport: {html}\nTrades: {trades}")


TRADES_SCHEMA_VERSION = 1


def trades_json(report: DayReport) -> dict[str, Any]:
    """The day's trades as a JSON document: `{"schema_version", "day", "seed", "trades": [...]}`.

    Times are ISO-8601 in IST (`+05:30`), money and prices strings of rupees to the paisa, an open
    trade's exit fields null. Version 1; a change that breaks a reader bumps `schema_version`.
    """
    from sarathi.common.domain.calendar import IST

    def value(v: object) -> object:
        if isinstance(v, datetime):
            return v.astimezone(IST).isoformat()
        if isinstance(v, Decimal):
            return f"{v:.2f}"  # rupees to the paisa
        return v

    keys = (
        "contract",
        "underlying",
        "security_id",
        "lots",
        "quantity",
        "entries",
        "entry_at",
        "entry_price",
        "exit_at",
        "exit_price",
        "exit_reason",
        "gross",
        "charges",
    )
    return {
        "schema_version": TRADES_SCHEMA_VERSION,
        "day": report.info.day.isoformat(),
        "seed": report.info.seed,
        "trades": [{k: value(getattr(t, k)) for k in keys} | {"net": value(t.net)} for t in report.trades],
    }


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
    run.add_argument("--seed", type=int, default=days.DEFAULT_SEED, help="market seed (default %(default)s)")
    run.add_argument(
        "--speed", type=Decimal, default=days.DEFAULT_SPEED,
        help="market seconds per wall second between holds, 1–2000 (default %(default)s: the day,"
        " held at every step while a position or order is at stake, in about two minutes)",
    )  # fmt: skip
    run.add_argument(
        "--date", type=date.fromisoformat, default=days.DEFAULT_DAY,
        help="the trading day to simulate, YYYY-MM-DD (default %(default)s)",
    )  # fmt: skip
    run.add_argument(
        "--keep-running", action="store_true", help="after the report, keep the system up until Ctrl-C"
    )
    run.add_argument(
        "--report-dir", default=".run/reports", help="where the HTML report goes (default %(default)s)"
    )
    run.add_argument("--run-dir", default=".run/latest", help="logs and server data (default %(default)s)")
    run.set_defaults(handler=cmd_run)
