"""execution's settings: the instrument master follows the mode unless set."""

from __future__ import annotations

import pytest

from sarathi.execution.settings import DHAN_DETAILED_MASTER, SIM_DETAILED_MASTER, ExecutionSettings

LIVE = {"SARATHI_DHAN_ACCESS_TOKEN": "a-real-token", "SARATHI_LIVE_TRADING": "armed"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("sim", SIM_DETAILED_MASTER), ("paper", DHAN_DETAILED_MASTER), ("live", DHAN_DETAILED_MASTER)],
)
def test_the_instrument_master_defaults_to_dhans_in_paper_and_live_and_the_sims_in_sim(
    monkeypatch: pytest.MonkeyPatch, mode: str, expected: str
) -> None:
    monkeypatch.delenv("SARATHI_EXECUTION_INSTRUMENT_MASTER_URL")  # the test session points it away
    monkeypatch.setenv("SARATHI_MODE", mode)
    for key, value in LIVE.items():
        monkeypatch.setenv(key, value)
    assert ExecutionSettings().instrument_master_url == expected


def test_dhans_master_is_fetched_over_https() -> None:
    assert DHAN_DETAILED_MASTER == "https://images.dhan.co/api-data/api-scrip-master-detailed.csv"


def test_an_explicit_instrument_master_wins_over_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARATHI_MODE", "paper")
    monkeypatch.setenv("SARATHI_EXECUTION_INSTRUMENT_MASTER_URL", "/srv/master.csv")
    assert ExecutionSettings().instrument_master_url == "/srv/master.csv"
