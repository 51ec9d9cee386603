"""Replaying a recording made against real Dhan: with `SARATHI_SIM_MASTER_FILE` the universe is the
master's, so frames of real security ids reach the market and the sockets; without it they match
nothing in the synthetic universe and go nowhere."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.master_reader import parse_master
from sarathi.sim.runtime import SimRuntime, build_runtime
from sarathi.sim.settings import MarketSource, SimSettings
from sarathi.sim.testing import masters
from sarathi.sim.testing import recordings as rec
from sarathi.sim.wiring import default_parts

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)
REAL = parse_master(io.StringIO(masters.sample_master())).universe
CALL = REAL.get("47317")  # NIFTY 15 SEP 23950 CALL, a real Dhan id
NIFTY = REAL.get("13")


def a_replay(tmp_path: Path, *, master: bool) -> SimRuntime:
    recording = rec.write_recording(
        tmp_path / "feed-dhan-20260915.rec",
        [
            (OPEN, rec.ticker(NIFTY, "23968.40", OPEN)),
            (OPEN + timedelta(seconds=1), rec.full(CALL, "88.15", "88.10", "88.20", OPEN)),
        ],
    )
    values: dict[str, object] = {"sim_publish_clock": False, "sim_replay_file": recording}
    if master:
        values["sim_master_file"] = masters.write_master(tmp_path / "api-scrip-master-detailed.csv")
    return build_runtime(SimSettings(**values), default_parts())  # type: ignore[arg-type]


def test_a_real_dhan_recording_replays_over_the_masters_universe(tmp_path: Path) -> None:
    runtime = a_replay(tmp_path, master=True)
    assert runtime.settings.market_source is MarketSource.REPLAY
    assert runtime.master is not None
    assert runtime.master.options == 4
    assert runtime.universe.find(ExchangeSegment.NSE_FNO, "47317") == CALL
    assert runtime.replay is not None

    runtime.replay.advance(OPEN + timedelta(seconds=2))

    assert runtime.replay.frames_sent == 2  # both routable: ids the universe lists
    quote = runtime.market.quote(CALL, OPEN + timedelta(seconds=2))
    assert (quote.ltp, quote.bid, quote.ask) == (Decimal("88.15"), Decimal("88.10"), Decimal("88.20"))


def test_without_the_master_the_real_ids_match_nothing(tmp_path: Path) -> None:
    runtime = a_replay(tmp_path, master=False)
    assert runtime.master is None
    assert runtime.universe.find(ExchangeSegment.NSE_FNO, "47317") is None
    assert runtime.replay is not None

    runtime.replay.advance(OPEN + timedelta(seconds=2))

    assert runtime.replay.frames_sent == 1  # only the index frame (13 is the same id in both)
