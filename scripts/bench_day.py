"""A full simulated day through every service (`sarathi.cli.day`), measured; used by `bench.py`.

`run_day(plan)` starts NATS and PostgreSQL (wheels, unless NATS_URL / DATABASE_URL), the sim and
the five services on free ports, runs the session and returns the figures and what was traded.
In the held day the sim holds market time at every step until the services are done with it
and then moves straight to the next one (the clock protocol), so "market seconds per wall
second" is what the system can do, not the speed; whether it kept up shows in the decision lag
(bar close → execution's decision, in market seconds), the signals refused as too old and the
holds let go. `loaded()` runs a CPU-burning process beside a day (the determinism check's
second run).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sarathi.cli import day as days
from sarathi.cli.day_files import trades_json
from sarathi.cli.infra import infrastructure
from sarathi.cli.report import RunInfo, build_report
from sarathi.common.db import migrate


def run_day(plan: days.DayPlan, keep_recording: Path | None = None) -> dict[str, Any]:
    """The day's figures, trades, signals and decisions; its recording copied to `keep_recording`."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sarathi-bench-day-") as tmp:
        run_dir = Path(tmp)
        with infrastructure(run_dir, lambda _: None) as urls:
            migrate.upgrade(urls["DATABASE_URL"])
            with days.system(plan, urls, run_dir) as running:  # free ports (`days.service_ports`)
                ready = time.monotonic() - started
                session_started = time.monotonic()
                days.run_session(running, plan)
                session = time.monotonic() - session_started
                holds = running.holds or {}
                books, state = days.settle(running)
            wall_timeouts = _count_in_logs(run_dir / "logs", WALL_TIMEOUTS)
            if keep_recording is not None:
                shutil.copytree(days.recording_dir(run_dir), keep_recording, dirs_exist_ok=True)
    total = time.monotonic() - started
    report = build_report(
        books, state["broker"], RunInfo(plan.day, plan.seed, plan.speed, session, plan.market_seconds)
    )
    closes = {s.signal_id: s.bar_close_at for s in books.signals}
    lags = [
        (d.decided_at - closes[d.signal_id]).total_seconds() for d in books.decisions if d.signal_id in closes
    ]
    return {
        "figures": {
            "speed": str(plan.speed),
            "market_seconds": plan.market_seconds,
            "session_wall_seconds": round(session, 1),
            "total_wall_seconds": round(total, 1),
            "startup_wall_seconds": round(ready, 1),
            "market_seconds_per_wall_second": round(plan.market_seconds / session, 1),
            "market_seconds_per_wall_second_incl_startup": round(plan.market_seconds / total, 1),
            "decision_lag_p50_market_seconds": round(statistics.median(lags), 1) if lags else None,
            "decision_lag_max_market_seconds": round(max(lags), 1) if lags else None,
            "signals": report.signals.signals,
            "refused_too_old": report.signals.refused.get("signal_age", 0),
            "trades": len(report.trades),
            "books_match_broker": report.books_match,
            "holds": holds.get("held"),
            "hold_rounds": holds.get("rounds"),
            "hold_wall_seconds": holds.get("wall_seconds"),
            "holds_let_go": holds.get("let_go"),
            "wall_clock_timeouts": wall_timeouts,
        },
        "trades": trades_json(report)["trades"],
        "signals": sorted((s.signal_id, s.direction) for s in books.signals),
        "decisions": sorted((d.signal_id, d.outcome, d.gate or "") for d in books.decisions),
    }


# Log events of waits timed by the wall clock, which the clock protocol cannot hold: on a busy
# machine they may end otherwise than on an idle one.
WALL_TIMEOUTS = ("feed_snapshot_failed", "clock_hold_busy")


def _count_in_logs(logs: Path, events: tuple[str, ...]) -> dict[str, int]:
    text = "".join(path.read_text(errors="replace") for path in sorted(logs.glob("*.log")))
    return {event: text.count(f'"{event}"') for event in events}


@contextmanager
def loaded(processes: int = 1) -> Iterator[None]:
    """A busy machine: `processes` CPU-burning processes beside the block."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def _at(trades: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    return trades[index] if index < len(trades) else None


def compare(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two runs of the same plan: what was the same."""

    def key(trade: dict[str, Any]) -> tuple[Any, ...]:
        return (trade["contract"], trade["entry_at"][:16], trade["exit_reason"])

    a, b = [key(t) for t in first["trades"]], [key(t) for t in second["trades"]]
    exact = first["trades"] == second["trades"]
    differ = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return {
        "same_signals": first["signals"] == second["signals"],
        "same_decisions": first["decisions"] == second["decisions"],
        "same_trades_exactly": exact,
        "same_trades_to_the_minute": a == b,
        "trades_first_run": len(a),
        "trades_second_run": len(b),
        "trades_equal_before_first_difference": differ if not exact else len(a),
        "first_difference": None if exact else [_at(first["trades"], differ), _at(second["trades"], differ)],
        "decisions_only_in_one_run": sorted(
            map(list, set(map(tuple, first["decisions"])) ^ set(map(tuple, second["decisions"])))
        )[:5],
    }
