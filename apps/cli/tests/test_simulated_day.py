"""End to end: a shortened trading session through every real service, as separate processes.

The same code path as `sarathi run` (`sarathi.cli.day`): sim with its clock paused at 14:00 IST,
the instrument sync from it, orders, feed, signals, execution and risk started as
`python -m sarathi.<service>` on free ports, then the session to 15:20 at 100×, held at each bar
close until the system has decided about it; entries are MARKET orders (see below). The NIFTY
market is scripted: a clear up-trend from the start, and a reversal as soon as risk reports a
position's trail armed. At the end, after risk's 15:15 square-off, the clock is paused and our
books are compared with the broker's (`GET /sim/state`), and the day's recording is replayed by
`sarathi backtest --recording`'s engine, which must give the services' trades exactly.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.cli import day as days
from sarathi.cli.backtest.command import RECORDING_SLIPPAGE_DEFAULT, build_config
from sarathi.cli.backtest.parity import compare
from sarathi.cli.backtest.recording import open_recording, run_recording
from sarathi.cli.backtest.result import trade_row
from sarathi.cli.day_files import trades_json
from sarathi.cli.progress import Sample
from sarathi.cli.report import RunInfo, build_report
from sarathi.cli.supervisor import SERVICES
from sarathi.common.db import migrate

PLAN = days.DayPlan(
    start=time(14, 0),
    end=time(15, 20),
    speed=Decimal(100),
    extra_env={
        "SARATHI_SIGNALS_UNDERLYINGS": '["NIFTY"]',
        "SARATHI_EXECUTION_UNDERLYINGS": '["NIFTY"]',
        # A LIMIT at the ask, placed while the market is held at a bar close, fills at the next step
        # only if the ask has not risen past it; in this steep scripted up-trend it has (tried: the
        # only entry came at 14:40, after the trend): buy at market.
        "SARATHI_EXECUTION_ENTRY_ORDER_TYPE": "MARKET",
    },
)
UP_TREND = (Decimal("1.02"), 2400)  # +2 % over 40 market minutes, then flat
REVERSAL = (Decimal("0.985"), 1200)  # −1.5 % over 20 market minutes


def _path(level: Decimal, move: tuple[Decimal, int]) -> list[tuple[float, Decimal]]:
    ratio, seconds = move
    return [(0, level), (seconds, (level * ratio).quantize(Decimal("0.01")))]


@pytest.mark.timeout(300)
def test_a_scripted_up_trend_and_reversal_trade_through_every_service_and_the_books_match_the_broker(
    jetstream_clean: str,
    fresh_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrate.upgrade(fresh_database_url)
    urls = {"NATS_URL": jetstream_clean, "DATABASE_URL": fresh_database_url}
    reversed_at: list[Sample] = []

    with days.system(PLAN, urls, tmp_path) as running:  # on free ports, as `sarathi run`
        assert not set(running.supervisor.ports.values()) & {*SERVICES.values(), 4222, 5432}
        level = running.sim.index_level("NIFTY")
        assert level is not None
        running.sim.script_index("NIFTY", _path(level, UP_TREND))

        def reverse_once_a_trail_is_armed(sample: Sample) -> None:
            if reversed_at or sample.nifty is None:
                return
            if any(p["trail_armed"] for p in running.risk.get("/positions")):
                running.sim.script_index("NIFTY", _path(sample.nifty, REVERSAL))
                reversed_at.append(sample)

        days.run_session(running, PLAN, on_sample=reverse_once_a_trail_is_armed, poll_seconds=0.25)
        books, state = days.settle(running)
        risk_pnl = running.risk.get("/pnl")
        risk_positions = running.risk.get("/positions")

    broker = state["broker"]
    info = RunInfo(PLAN.day, PLAN.seed, PLAN.speed, 0.0, PLAN.market_seconds)
    report = build_report(books, broker, info)
    logs = tmp_path / "logs"

    # The market did what the script said, and the robot traded it.
    assert reversed_at, f"no trail was ever armed; trades: {report.trades}; logs in {logs}"
    assert any(t.super_order_entry for t in report.trades), "at least one Super Order entry"
    assert any(o["legName"] == "ENTRY_LEG" and o["filledQty"] > 0 for o in broker["orders"])
    assert "TRAILING" in {t.exit_reason for t in report.trades}, [
        (t.contract, t.exit_reason) for t in report.trades
    ]

    # Never short, never the same order twice, flat after the square-off.
    assert all(int(p["netQty"]) >= 0 for p in broker["positions"])
    assert all(int(p["sellQty"]) <= int(p["buyQty"]) for p in broker["positions"])
    assert all(int(p["netQty"]) == 0 for p in broker["positions"]), broker["positions"]
    by_correlation = Counter((o["correlationId"], o["legName"]) for o in broker["orders"])
    assert max(by_correlation.values()) == 1, by_correlation.most_common(3)
    assert all(p["status"] == "CLOSED" for p in risk_positions)

    # Our books (orders, fills, positions, realised P&L) equal the broker's.
    assert report.books_match, [c for c in report.checks if not c.ok]
    broker_realised = sum((Decimal(str(p["realizedProfit"])) for p in broker["positions"]), Decimal(0))
    assert Decimal(risk_pnl["realized_gross"]) == broker_realised.quantize(Decimal("0.01"))
    assert report.gross == broker_realised.quantize(Decimal("0.0001"))

    # One P&L: risk's /pnl (what the progress line and `sarathi status` show) is the report's.
    paisa = Decimal("0.01")
    assert Decimal(risk_pnl["charges"]) == report.charges.quantize(paisa), (risk_pnl, report.charges)
    assert Decimal(risk_pnl["net"]) == report.net.quantize(paisa), (risk_pnl, report.net)

    # Parity: the day's recording, replayed by the backtest with the services' settings, gives the
    # services' trades exactly, risk's own exits (trail, square-off) and MARKET entries included.
    for name, value in PLAN.extra_env.items():
        monkeypatch.setenv(name, value)
    services = trades_json(report)
    (tmp_path / "trades.json").write_text(json.dumps(services))  # for `sarathi backtest --compare`
    config = build_config(None, RECORDING_SLIPPAGE_DEFAULT)
    replayed = asyncio.run(run_recording(config, open_recording(days.recording_dir(tmp_path), PLAN.day)))
    comparison = compare(services["trades"], [trade_row(t) for t in replayed.trades], exact=True)
    lines = comparison.lines("services", "backtest")
    with capsys.disabled():  # the comparison, for whoever runs the test
        sys.stdout.write("\n" + "\n".join(lines) + "\n")
    assert comparison.same, "\n".join([*lines, *replayed.notes])
