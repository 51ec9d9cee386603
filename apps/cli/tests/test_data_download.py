"""`sarathi data download` / `data list` against a real sim (uvicorn in a thread, the official
client's HTTP), the requests it receives counted at the sim: resumable, holidays and empty
answers, Dhan's limits, bad input in one line."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path

import polars as pl
import pytest
import uvicorn
from fastapi import Request, Response

from sarathi.cli import __main__ as cli
from sarathi.cli.datastore import MonthFile
from sarathi.cli.download import download as download_with
from sarathi.cli.download import plan, rolling_keys
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.sim.app import build_app
from sarathi.sim.model_history import ModelHistory
from sarathi.sim.ratelimit import RateLimiter
from sarathi.sim.settings import SimSettings

SIM_NOW = datetime.combine(date(2026, 9, 16), time(9, 15), tzinfo=IST)


class RunningSim:
    def __init__(self, url: str, counts: Counter[str], limiter: RateLimiter) -> None:
        self.url = url
        self.counts = counts
        self._limiter = limiter

    def fresh(self) -> None:
        """No request counted; the rate windows empty (each run's client starts with its own)."""
        self.counts.clear()
        self._limiter.reset()

    def charts(self) -> int:
        return sum(n for path, n in self.counts.items() if path.startswith("/v2/charts/"))


def sim_settings() -> SimSettings:
    return SimSettings(
        sim_start=SIM_NOW, sim_start_paused=True, sim_publish_clock=False,
        sim_rate_limit_time="wall", sim_anchor_day=date(2026, 9, 16),
    )  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSim]:
    app = build_app(sim_settings())
    counts: Counter[str] = Counter()

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        counts[request.url.path] += 1
        return await call_next(request)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    yield RunningSim(f"http://127.0.0.1:{port}", counts, app.state.sim.limiter)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def use_sim(sim: RunningSim, monkeypatch: pytest.MonkeyPatch) -> RunningSim:
    monkeypatch.setenv("SARATHI_DHAN_REST_URL", f"{sim.url}/v2")
    for name in ("SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN", "SARATHI_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    sim.fresh()
    return sim


def download(tmp_path: Path, *extra: str) -> int:
    argv = ["data", "download", "--data-dir", str(tmp_path), "--underlyings", "NIFTY", "--strikes", "1"]
    return cli.main([*argv, *extra])


def test_a_second_download_of_the_same_range_asks_the_sim_nothing(
    use_sim: RunningSim, tmp_path: Path
) -> None:
    assert download(tmp_path, "--from", "2026-06-01", "--to", "2026-06-03") == 0
    first_run = use_sim.charts()
    assert first_run == 1 + 3 * 2 * 2  # the index, then ATM-1..ATM+1 x CE, PE x WEEK, MONTH
    assert use_sim.counts["/v2/charts/rollingoption"] == 12
    index = pl.read_parquet(tmp_path / "sim-seed20260915/NIFTY/index/2026-06.parquet")
    assert index.height == 3 * 375
    options = pl.read_parquet(tmp_path / "sim-seed20260915/NIFTY/options/2026-06.parquet")
    assert options.height == 12 * 3 * 375
    assert options.schema["close"] == pl.Decimal(12, 2)
    assert str(options.schema["ts"]) == "Datetime(time_unit='us', time_zone='Asia/Kolkata')"

    use_sim.fresh()
    assert download(tmp_path, "--from", "2026-06-01", "--to", "2026-06-03") == 0
    assert use_sim.charts() == 0
    use_sim.fresh()
    assert download(tmp_path, "--from", "2026-06-01", "--to", "2026-06-04") == 0  # one new day
    assert use_sim.charts() == 13
    assert pl.read_parquet(tmp_path / "sim-seed20260915/NIFTY/index/2026-06.parquet").height == 4 * 375


def test_the_model_in_process_writes_the_files_the_http_download_writes(
    use_sim: RunningSim, tmp_path: Path
) -> None:
    # Across a month's end, a NIFTY weekly expiry (Tue 30 Jun) and the monthly series.
    first, last = date(2026, 6, 29), date(2026, 7, 1)
    argv = ["--from", f"{first}", "--to", f"{last}", "--strikes", "1", "--data-dir", str(tmp_path / "http")]
    assert cli.main(["data", "download", "--underlyings", "NIFTY", *argv]) == 0
    root = tmp_path / "local" / "sim-seed20260915"
    plans = plan(root, [Underlying.NIFTY], first, last, rolling_keys(("WEEK", "MONTH"), (1,), 1),
                 MarketCalendar())  # fmt: skip
    stats = asyncio.run(download_with(ModelHistory(sim_settings()), plans, lambda _text, _milestone: None))

    assert stats.requests == use_sim.charts() == 2 * (1 + 3 * 2 * 2)  # two months
    written = sorted(p.relative_to(root) for p in root.rglob("*.*"))
    assert written == sorted(p.relative_to(tmp_path / "http" / "sim-seed20260915")
                             for p in (tmp_path / "http" / "sim-seed20260915").rglob("*.*"))  # fmt: skip
    assert len(written) == 8
    for name in written:
        over_http = tmp_path / "http" / "sim-seed20260915" / name
        if name.suffix == ".parquet":
            assert pl.read_parquet(root / name).equals(pl.read_parquet(over_http)), name
            assert pl.read_parquet(root / name).height > 0
        else:
            assert (root / name).read_text() == over_http.read_text()


def test_holidays_and_weekends_are_not_asked_and_empty_answers_are_not_asked_again(
    use_sim: RunningSim, tmp_path: Path
) -> None:
    # Thu 25 Jun, Fri 26 Jun (Muharram), the weekend, Mon 29 Jun: one window per series.
    argv = ["--from", "2026-06-25", "--to", "2026-06-29", "--underlyings", "BANKNIFTY", "--strikes", "0"]
    assert download(tmp_path, *argv) == 0
    assert use_sim.charts() == 1 + 2 * 2
    options = pl.read_parquet(tmp_path / "sim-seed20260915/BANKNIFTY/options/2026-06.parquet")
    assert set(options.get_column("expiry_flag")) == {"MONTH"}  # BANKNIFTY has no weekly series
    assert options.get_column("ts").dt.date().n_unique() == 2
    asked = MonthFile(tmp_path / "sim-seed20260915", "BANKNIFTY", "options", "2026-06").asked()
    assert asked["WEEK/1/ATM/CE"] == {date(2026, 6, d) for d in range(25, 30)}
    use_sim.fresh()
    assert download(tmp_path, *argv) == 0
    assert use_sim.charts() == 0


def test_a_month_of_expired_options_is_asked_in_windows_of_at_most_thirty_days(
    use_sim: RunningSim, tmp_path: Path
) -> None:
    argv = ["--from", "2026-07-01", "--to", "2026-07-31", "--strikes", "0", "--expiry-flags", "MONTH"]
    assert download(tmp_path, *argv) == 0  # 31 days: 1..30 and 31; a 31-day window is refused
    assert use_sim.counts["/v2/charts/rollingoption"] == 2 * 2
    options = pl.read_parquet(tmp_path / "sim-seed20260915/NIFTY/options/2026-07.parquet")
    assert options.get_column("ts").dt.date().n_unique() == 23  # July 2026's sessions


def test_list_shows_each_cached_month(
    use_sim: RunningSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    assert "Nothing cached" in capsys.readouterr().out
    assert download(tmp_path, "--from", "2026-06-01", "--to", "2026-06-01", "--strikes", "0") == 0
    capsys.readouterr()
    assert cli.main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["source", "underlying", "kind", "month"]
    assert lines[1].split()[:7] == ["sim-seed20260915", "NIFTY", "index", "2026-06", "375", "1", "1"]
    assert lines[2].split()[:7] == ["sim-seed20260915", "NIFTY", "options", "2026-06", "1,500", "1", "4"]


def test_a_refused_token_is_one_clear_line(
    use_sim: RunningSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SARATHI_DHAN_ACCESS_TOKEN", "not-the-token")
    assert download(tmp_path, "--from", "2026-06-01", "--to", "2026-06-01") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "refused the credentials" in err[0]
    assert "not-the-token" not in err[0]


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--from", "2026-06-10", "--to", "2026-06-01"], "is after --to"),
        (["--from", "2026-09-01", "--to", "2026-09-16"], "the sim's history covers 2025-01-01 .. 2026-09-15"),
        (["--from", "2024-06-01", "--to", "2024-06-30"], "the sim's history covers"),
    ],
)
def test_a_bad_range_is_one_line_and_exit_2(
    use_sim: RunningSim, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], why: str
) -> None:
    assert download(tmp_path, *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert why in err[0]
    assert use_sim.charts() == 0


def test_an_unknown_underlying_is_refused_by_parsing(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(
            ["data", "download", "--from", "2026-06-01", "--to", "2026-06-02", "--underlyings", "NIFTY,FOO"]
        )
    assert stopped.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert err == [
        "sarathi data download: error: argument --underlyings: unknown underlying FOO: "
        "use NIFTY, BANKNIFTY, SENSEX"
    ]


def test_dhan_without_credentials_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN", "SARATHI_DHAN_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    assert download(tmp_path, "--source", "dhan", "--from", "2026-06-01", "--to", "2026-06-02") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "sarathi data download: error: --source dhan needs SARATHI_DHAN_CLIENT_ID and "
        "SARATHI_DHAN_ACCESS_TOKEN (a Dhan account with the data plan)"
    ]


def test_with_nothing_running_the_command_starts_and_stops_its_own_sim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SARATHI_DHAN_CLIENT_ID", "SARATHI_DHAN_ACCESS_TOKEN", "SARATHI_DHAN_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    argv = ["--from", "2026-09-16", "--to", "2026-09-16", "--strikes", "0", "--expiry-flags", "MONTH"]
    assert download(tmp_path, *argv) == 0
    index = pl.read_parquet(tmp_path / "sim-seed20260915/NIFTY/index/2026-09.parquet")
    assert index.height == 375
    # Anchored at 2026-09-16: the day opens near 24,000, as the day `sarathi run` trades.
    assert abs(float(index.get_column("open")[0]) - 24000) < 400
