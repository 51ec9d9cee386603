"""The day's instruments beside the recording: written from the Derivative rows, read back as the
table's contracts (for the backtest)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sarathi.common.dhan.recording import RecordingError
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.execution.adapters.derivatives import to_listed
from sarathi.execution.refdata.master import parse_master
from sarathi.execution.refdata.snapshot import instruments_path, read_instruments, write_instruments

from .test_master import TODAY, a_master, option

DAY = date(2026, 9, 15)


def stored_rows() -> list[dict[str, object]]:
    """Derivative rows as the sync stores them: NIFTY, BANKNIFTY and SENSEX options, one without a
    freeze quantity."""
    no_freeze = option(7, "SENSEX", strike="81000.00000", side="PE").replace(",1756,", ",0,")
    return parse_master(a_master(no_freeze), TODAY, min_option_rows=5).derivatives


def test_the_instruments_read_back_as_the_derivative_table_gives_them(tmp_path: Path) -> None:
    rows = stored_rows()

    path = write_instruments(tmp_path / "recording", DAY, rows)
    listed = read_instruments(tmp_path / "recording", DAY)

    assert path == tmp_path / "recording" / "instruments-20260915.csv"
    assert len(listed) == len(rows)
    assert set(listed) == {to_listed(row) for row in rows}
    sensex = next(c for c in listed if c.contract.security_id == "7")
    assert (sensex.contract.segment, sensex.freeze_quantity) == (ExchangeSegment.BSE_FNO, None)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_the_file_has_the_agreed_columns_and_ce_pe_option_types(tmp_path: Path) -> None:
    path = write_instruments(tmp_path, DAY, stored_rows())

    lines = path.read_text().splitlines()
    assert lines[0] == "security_id,underlying,expiry,strike,option_type,lot_size,tick_size,freeze_qty"
    assert "7,SENSEX,2026-09-22,81000,PE,65,0.05," in lines
    assert {line.split(",")[4] for line in lines[1:]} == {"CE", "PE"}


def test_a_second_write_of_the_day_replaces_the_first(tmp_path: Path) -> None:
    rows = stored_rows()
    write_instruments(tmp_path, DAY, rows)
    write_instruments(tmp_path, DAY, rows[:2])

    assert len(read_instruments(tmp_path, DAY)) == 2


def test_a_malformed_line_is_an_error_naming_its_file_and_line(tmp_path: Path) -> None:
    path = write_instruments(tmp_path, DAY, stored_rows())
    path.write_text(path.read_text().replace(",65,", ",sixty-five,", 1))

    with pytest.raises(RecordingError, match=r"instruments-20260915\.csv: line 2: "):
        read_instruments(tmp_path, DAY)
    assert instruments_path(tmp_path, DAY) == path
