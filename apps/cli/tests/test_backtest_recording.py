"""Parity: the recorded default day, replayed by the backtest, gives the trades the services made.

`sarathi run` trades the default day (2026-09-16, seed 20260915) through every real service and
records what the system read from Dhan (`<run dir>/recording`: the feed's frames, the option
chains and warm-up history, the instruments). `sarathi backtest --recording` runs the services'
decision code on that recording in one process; `--compare` holds it against the day's
trades.json: contract, lots, entries, entry and exit times and prices, exit reason, all equal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sarathi.cli import __main__ as cli


@pytest.fixture(scope="module")
def recorded_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default day, run as the README's run command runs it: (recording dir, trades.json)."""
    root = tmp_path_factory.mktemp("day")
    with pytest.MonkeyPatch.context() as env:  # the run starts its own NATS and PostgreSQL
        env.delenv("NATS_URL", raising=False)
        env.delenv("DATABASE_URL", raising=False)
        code = cli.main(["run", "--run-dir", str(root / "run"), "--report-dir", str(root / "report")])
    assert code == 0
    (trades,) = (root / "report").glob("*-trades.json")
    return root / "run" / "recording", trades


@pytest.mark.timeout(600)
def test_the_recorded_default_day_replays_to_the_services_trades(
    recorded_day: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording, trades = recorded_day

    code = cli.main(
        ["backtest", "--recording", str(recording), "--compare", str(trades), "--out", str(tmp_path)]
    )

    out = capsys.readouterr().out
    with capsys.disabled():  # the figures, for whoever runs the test
        sys.stdout.write("\n" + out)
    assert code == 0, out
    services = json.loads(trades.read_text())["trades"]
    (written,) = tmp_path.glob("*-trades.json")
    backtest = json.loads(written.read_text())
    assert backtest["prices"].startswith("Prices: a recording of the market feed")
    assert len(services) >= 1  # the day trades: a parity of no trades would prove nothing
    fields = ("contract", "lots", "quantity", "entries", "entry_at", "entry_price", "exit_at", "exit_price",
              "exit_reason", "gross", "charges", "net")  # fmt: skip
    assert [{k: t[k] for k in fields} for t in backtest["trades"]] == [
        {k: t[k] for k in fields} for t in services
    ]
    assert f"{len(services)} of {len(services)} services trades matched" in out


@pytest.mark.timeout(600)
def test_a_trade_the_backtest_did_not_make_is_listed_and_exits_1(
    recorded_day: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording, trades = recorded_day
    document = json.loads(trades.read_text())
    first = document["trades"][0]
    first["exit_price"] = "1.00"  # as if the broker had filled the exit elsewhere
    altered = tmp_path / "altered-trades.json"
    altered.write_text(json.dumps(document))

    code = cli.main(
        ["backtest", "--recording", str(recording), "--compare", str(altered), "--out", str(tmp_path)]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert f"exit_price 1.00 vs {json.loads(trades.read_text())['trades'][0]['exit_price']}" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--recording", "/nonexistent/recording"], "no such directory"),
        (["--recording", ".", "--from", "2026-09-16"], "--from/--to do not go with --recording"),
        (["--from", "2026-09-16", "--to", "2026-09-16", "--day", "2026-09-16"], "--day and --compare go"),
        (["--to", "2026-09-16"], "--from and --to are required (or --recording DIR)"),
    ],
)
def test_bad_recording_arguments_are_one_line_and_exit_2(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["backtest", *argv, "--out", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sarathi backtest: error: ")
    assert says in err
    assert len(err.strip().splitlines()) == 1


def test_a_directory_with_no_recorded_day_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["backtest", "--recording", str(tmp_path), "--out", str(tmp_path / "out")])

    assert code == 2
    assert "0 days recorded (none); say which with --day" in capsys.readouterr().err
