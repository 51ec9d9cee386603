from __future__ import annotations

import csv
import io

from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.instruments import Universe
from sarathi.sim.master_csv import COMPACT_HEADER, DETAILED_HEADER, compact_csv, detailed_csv


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_compact_master_has_the_16_columns_and_a_parsable_option_row(universe: Universe) -> None:
    text = compact_csv(universe)
    assert text.splitlines()[0].split(",") == list(COMPACT_HEADER)
    assert len(COMPACT_HEADER) == 16
    row = next(r for r in _rows(text) if r["SEM_TRADING_SYMBOL"] == "NIFTY-Sep2026-24000-CE")
    assert row["SEM_EXM_EXCH_ID"] == "NSE"
    assert row["SEM_SEGMENT"] == "D"
    assert row["SEM_INSTRUMENT_NAME"] == "OPTIDX"
    assert row["SEM_LOT_UNITS"] == "65.0"
    assert row["SEM_STRIKE_PRICE"] == "24000.00000"
    assert row["SEM_TICK_SIZE"] == "5.0000"  # paise
    assert row["SEM_EXPIRY_FLAG"] in {"W", "M"}
    assert row["SEM_EXPIRY_DATE"].endswith(" 14:30:00")
    assert universe.get(row["SEM_SMST_SECURITY_ID"]).symbol == "NIFTY-Sep2026-24000-CE"


def test_compact_index_rows_carry_the_idx_i_ids(universe: Universe) -> None:
    index_rows = [r for r in _rows(compact_csv(universe)) if r["SEM_INSTRUMENT_NAME"] == "INDEX"]
    assert {r["SEM_SMST_SECURITY_ID"] for r in index_rows} == {"13", "25", "51"}


def test_detailed_master_has_the_2026_header_with_a_trailing_empty_column(universe: Universe) -> None:
    text = detailed_csv(universe)
    lines = text.splitlines()
    assert lines[0] == ",".join(DETAILED_HEADER) + ","
    assert len(DETAILED_HEADER) == 32
    assert all(line.endswith(",") for line in lines)
    rows = _rows(text)
    call = next(r for r in rows if r["SYMBOL_NAME"] == "NIFTY-Sep2026-24000-CE")
    assert call["UNDERLYING_SECURITY_ID"] == "26000"
    assert call["SM_FREEZE_QTY"] == "1756"
    assert call["LOT_SIZE"] == "65.0"
    sensex = next(r for r in rows if r["UNDERLYING_SYMBOL"] == "SENSEX" and r["INSTRUMENT"] == "OPTIDX")
    assert sensex["SYMBOL_NAME"] == "BSXOPT"
    assert sensex["EXCH_ID"] == "BSE"
    assert sensex["UNDERLYING_SECURITY_ID"] == "1"


def test_one_segment_lists_only_that_segment(universe: Universe) -> None:
    rows = _rows(detailed_csv(universe, ExchangeSegment.BSE_FNO))
    assert rows
    assert {r["EXCH_ID"] for r in rows} == {"BSE"}
    assert {r["SEGMENT"] for r in rows} == {"D"}
