"""Which market the settings choose, and the combinations they refuse at start-up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sarathi.common.clock import IST
from sarathi.common.dhan.recording import RecordingError
from sarathi.common.settings import Mode
from sarathi.sim.app import build_app
from sarathi.sim.master_reader import MasterFileError
from sarathi.sim.settings import MarketSource, SimSettings
from sarathi.sim.testing import masters
from sarathi.sim.testing import recordings as rec

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)


def settings(**values: Any) -> SimSettings:
    return SimSettings(sim_publish_clock=False, **values)


def a_recording(tmp_path: Path) -> Path:
    return rec.write_recording(tmp_path / "feed.rec", [(OPEN, rec.market_status())])


def test_the_source_is_synthetic_replay_or_paper(tmp_path: Path) -> None:
    assert settings().market_source is MarketSource.SYNTHETIC
    assert settings(sim_replay_file=a_recording(tmp_path)).market_source is MarketSource.REPLAY
    assert SimSettings(mode=Mode.PAPER).market_source is MarketSource.PAPER


@pytest.mark.parametrize(
    "values",
    [
        {"mode": Mode.PAPER, "sim_publish_clock": False},  # paper needs NATS
        {"mode": Mode.PAPER, "sim_start": OPEN},  # paper runs on the wall clock
        {"mode": Mode.PAPER, "sim_speed": Decimal(10)},
        {"mode": Mode.PAPER, "sim_start_paused": True},
        {"sim_replay_file": "/no/such/recording.rec"},
    ],
)
def test_settings_that_cannot_work_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SimSettings(**values)


def test_paper_mode_refuses_a_replay_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        SimSettings(mode=Mode.PAPER, sim_replay_file=a_recording(tmp_path))


def test_a_recording_without_frames_fails_the_build(tmp_path: Path) -> None:
    empty = rec.write_recording(tmp_path / "empty.rec", [])
    with pytest.raises(RecordingError):
        build_app(settings(sim_replay_file=empty))
    (tmp_path / "junk.rec").write_bytes(b"not a recording")
    with pytest.raises(RecordingError):
        build_app(settings(sim_replay_file=tmp_path / "junk.rec"))


def test_a_master_file_lists_the_universe_of_replay_and_paper_only(tmp_path: Path) -> None:
    master = masters.write_master(tmp_path / "api-scrip-master-detailed.csv")
    replay = settings(sim_replay_file=a_recording(tmp_path), sim_master_file=master)
    assert replay.market_source is MarketSource.REPLAY
    assert SimSettings(mode=Mode.PAPER, sim_master_file=master).sim_master_file == master
    with pytest.raises(ValidationError, match="replay and paper modes"):
        settings(sim_master_file=master)  # the synthetic market prices its own universe
    with pytest.raises(ValidationError):
        SimSettings(mode=Mode.PAPER, sim_master_file=tmp_path / "no-such-master.csv")


def test_a_file_that_is_not_a_detailed_master_fails_the_build(tmp_path: Path) -> None:
    compact = tmp_path / "api-scrip-master.csv"
    compact.write_text("SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID\nNSE,I,13\n", encoding="utf-8")
    with pytest.raises(MasterFileError, match="not a Dhan detailed instrument master"):
        build_app(settings(sim_replay_file=a_recording(tmp_path), sim_master_file=compact))
