"""The backtest on minute data downloaded from sim for the default day, against the tick day.

The tick result is `data/default-day-tick-trades.json`: the trades.json `sarathi run` wrote for
the default day (2026-09-16, seed 20260915) through every real service. Regenerate it with
`sarathi run` when the strategy or the sim's market changes on purpose. The minute data comes
from a sim of the same seed (`sarathi data download --source sim`, ATM±5, the three trading days
signals warms up on plus the day).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.cli import __main__ as cli
from sarathi.cli.backtest.command import build_config
from sarathi.cli.backtest.engine import Engine
from sarathi.cli.backtest.history import History
from sarathi.cli.backtest.parity import compare
from sarathi.cli.backtest.result import trades_json
from sarathi.common.domain.calendar import MarketCalendar

DAY = date(2026, 9, 16)
SOURCE = "sim-seed20260915"
TICK_TRADES = Path(__file__).parent / "data" / "default-day-tick-trades.json"


@pytest.fixture(scope="module")
def minute_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as env:  # no Dhan configured: the command starts its own sim
        for name in ("SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN", "SARATHI_DHAN_REST_URL"):
            env.delenv(name, raising=False)
        code = cli.main([
            "data", "download", "--source", "sim", "--from", "2026-09-11", "--to", DAY.isoformat(),
            "--strikes", "5", "--data-dir", str(root),
        ])  # fmt: skip
    assert code == 0
    return root


@pytest.mark.timeout(600)
def test_minute_backtest_of_the_default_day_makes_the_tick_days_trades(
    minute_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = Engine(build_config(None, 1), History(minute_data / SOURCE, MarketCalendar()))
    results = asyncio.run(engine.run([DAY]))
    minute = trades_json(
        results, source=SOURCE, first=DAY, last=DAY, underlyings=["NIFTY"], daily_loss_limit=Decimal(5000)
    )["trades"]
    tick = json.loads(TICK_TRADES.read_text())["trades"]

    comparison = compare(tick, minute)
    with capsys.disabled():  # the figures, for whoever runs the test
        sys.stdout.write("\n" + "\n".join(comparison.lines()) + "\n")

    assert comparison.tick_only == []
    assert comparison.minute_only == []
    assert comparison.matched == len(tick), comparison.lines()
    assert abs(comparison.net_difference) < 500  # a minute of slippage each way, not another day


def test_the_command_writes_trades_json_whose_summary_says_the_prices_are_synthetic(
    minute_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([
        "backtest", "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--data-dir", str(minute_data),
        "--out", str(tmp_path),
    ])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("Prices: the synthetic `sim` market")
    assert "says nothing about real profitability" in out.splitlines()[0]
    (page,) = tmp_path.glob("*.html")
    assert "Equity" in page.read_text()
    (written,) = tmp_path.glob("*-trades.json")
    document = json.loads(written.read_text())
    assert document["schema_version"] == 1
    assert document["day"] == DAY.isoformat()
    assert [t["exit_reason"] for t in document["trades"]] == ["STOP_LOSS", "STOP_LOSS"]
    assert document["days"][0]["net"] == f"{sum(Decimal(t['net']) for t in document['trades']):.2f}"


def test_a_range_without_history_is_one_line_and_exit_2(
    minute_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["backtest", "--from", "2026-03-02", "--to", "2026-03-03", "--data-dir", str(minute_data)]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sarathi backtest: error: no history in")
    assert "sarathi data download" in err


def test_a_config_file_with_a_foreign_name_is_refused_before_any_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bt.env"
    config.write_text("SARATHI_EXECUTION_LOTS=2\nLOTS=3\n")

    code = cli.main(["backtest", "--from", "2026-09-16", "--to", "2026-09-16", "--config", str(config),
                     "--data-dir", str(tmp_path / "none")])  # fmt: skip

    assert code == 2
    assert "not a Sarathi setting: LOTS" in capsys.readouterr().err


def test_a_day_read_twice_has_its_option_rows_in_the_same_order(minute_data: Path) -> None:
    """Contract ids follow the order of the day's rows: the same history, the same ids."""
    from sarathi.common.domain.instruments import Underlying

    first = History(minute_data / SOURCE, MarketCalendar())
    second = History(minute_data / SOURCE, MarketCalendar())
    for underlying in Underlying:
        for _ in range(5):
            one, two = first.day(underlying, DAY), second.day(underlying, DAY)
            assert one is not None
            assert two is not None
            assert one.options.height > 0
            assert one.options.equals(two.options), underlying
