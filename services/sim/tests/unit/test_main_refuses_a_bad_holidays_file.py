"""`python -m sarathi.sim` refuses to start on a broken SARATHI_HOLIDAYS_FILE, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sarathi.sim.__main__ import main


def test_the_sim_refuses_to_start_on_a_bad_holidays_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("kind,day,name,source,exchanges\nholiday,2027-01-31,A Sunday,NSE/CMTR/TEST,NSE|BSE\n")
    monkeypatch.setenv("SARATHI_HOLIDAYS_FILE", str(path))
    # The root logger would keep writing to this test's captured stdout after it ends.
    monkeypatch.setattr("sarathi.sim.__main__.configure_logging", lambda *_: None)

    with pytest.raises(SystemExit) as stopped:
        main()

    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"sarathi-sim: SARATHI_HOLIDAYS_FILE {path}:2: 2027-01-31 (A Sunday) is a Sunday: "
        "a holiday on the wrong kind of day (must be a weekday)"
    ]
