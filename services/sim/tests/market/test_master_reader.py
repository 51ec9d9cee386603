"""Reading Dhan's detailed instrument master into a `Universe`: the sim's own files read back the
same, Dhan's 2026 rows parse by header name, other rows are ignored, bad rows skipped and counted,
and a file that is not a detailed master is refused with a clear error."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying
from sarathi.sim.instruments import Universe
from sarathi.sim.master_csv import COMPACT_HEADER, DETAILED_HEADER, compact_csv, detailed_csv
from sarathi.sim.master_reader import MasterFileError, parse_master, read_master
from sarathi.sim.testing import masters


def parse(text: str) -> tuple[Universe, dict[str, object]]:
    loaded = parse_master(io.StringIO(text))
    report = loaded.report
    summary: dict[str, object] = {
        "rows": report.rows,
        "indices": report.indices,
        "options": report.options,
        "added": report.indices_added,
        "ignored": report.ignored,
        "skipped": report.skipped,
    }
    return loaded.universe, summary


def by_id(universe: Universe) -> dict[str, object]:
    return {i.security_id: i for i in universe}


def test_the_sims_own_detailed_master_reads_back_as_the_same_instruments(
    universe: Universe, tmp_path: Path
) -> None:
    path = tmp_path / "api-scrip-master-detailed.csv"
    path.write_text(detailed_csv(universe), encoding="utf-8")

    loaded = read_master(path)

    assert by_id(loaded.universe) == by_id(
        universe
    )  # ids, segments, lots, strikes, expiries, ticks, freeze …
    report = loaded.report
    assert (report.rows, report.indices, report.options) == (len(universe), 3, len(universe) - 3)
    assert (report.indices_added, report.ignored, report.skipped) == ((), {}, {})
    sensex = loaded.universe.options(Underlying.SENSEX)[0]
    assert sensex.segment is ExchangeSegment.BSE_FNO
    assert sensex.symbol.startswith("SENSEX-")  # rebuilt: the file says BSXOPT


def test_one_segments_list_reads_too_and_the_indices_are_added(universe: Universe) -> None:
    read, summary = parse(detailed_csv(universe, ExchangeSegment.BSE_FNO))
    assert summary["added"] == ("13", "25", "51")  # GET /v2/instrument/BSE_FNO has no index rows
    assert {i.security_id for i in read if not i.is_index} == {
        i.security_id for i in universe if i.segment is ExchangeSegment.BSE_FNO
    }
    assert by_id(read)["51"] == universe.index(Underlying.SENSEX)


def test_dhans_2026_rows_parse_and_the_rest_is_ignored_or_skipped() -> None:
    read, summary = parse(masters.sample_master())

    assert summary == {
        "rows": 10,
        "indices": 1,
        "options": 4,
        "added": ("25", "51"),
        "ignored": {"FUTIDX": 1, "INDEX": 1, "EQUITY": 1},  # the future, INDIA VIX, RELIANCE
        "skipped": {"bad STRIKE_PRICE": 1, "missing SM_EXPIRY_DATE": 1},  # 47318, the truncated 47319
    }
    assert {i.security_id for i in read} == {"13", "25", "51", "35084", "47317", "69787", "869699"}
    call = read.get("47317")
    assert call == replace(
        call,
        segment=ExchangeSegment.NSE_FNO,
        underlying=Underlying.NIFTY,
        symbol="NIFTY-Sep2026-23950-CE",
        display_name="NIFTY 15 SEP 23950 CALL",
        lot_size=65,
        tick_size=Decimal("0.05"),  # 5.0000 paise
        expiry=date(2026, 9, 15),
        strike=Decimal(23950),
        option_type=OptionType.CALL,
        weekly=True,
        freeze_qty=1756,
    )
    assert read.get("35084").weekly is False  # EXPIRY_FLAG M
    assert (read.get("69787").lot_size, read.get("69787").freeze_qty) == (30, 600)
    sensex = read.get("869699")
    assert (sensex.segment, sensex.symbol, sensex.lot_size) == (
        ExchangeSegment.BSE_FNO,
        "SENSEX-Sep2026-74300-CE",
        20,
    )
    nifty = read.index(Underlying.NIFTY)
    assert (nifty.segment, nifty.display_name) == (ExchangeSegment.IDX_I, "Nifty 50")
    assert read.expiries(Underlying.NIFTY) == [date(2026, 9, 15), date(2026, 9, 29)]


def test_columns_are_found_by_name_and_optional_ones_may_be_missing() -> None:
    # An older header: SELL_* instead of BUY_* and no circuit / freeze columns; the columns
    # reordered, an unknown one added, no trailing empty column; expiry with a time of day.
    header = "SECURITY_ID,EXCH_ID,SEGMENT,INSTRUMENT,UNDERLYING_SYMBOL,NEW_COLUMN,LOT_SIZE,SM_EXPIRY_DATE,"
    header += "STRIKE_PRICE,OPTION_TYPE,TICK_SIZE,SELL_CO_MIN_MARGIN_PER"
    row = "44430,NSE,D,OPTIDX,NIFTY,x,25.0,2024-10-24 14:30:00,25800.00000,PE,5.0000,0"
    read, summary = parse(masters.master_text(row, header=header))
    assert summary["skipped"] == {}
    put = read.get("44430")
    assert (put.expiry, put.strike, put.option_type, put.lot_size, put.freeze_qty, put.weekly) == (
        date(2024, 10, 24),
        Decimal(25800),
        OptionType.PUT,
        25,
        0,
        False,
    )
    assert (put.symbol, put.display_name) == ("NIFTY-Oct2024-25800-PE", "NIFTY 24 OCT 25800 PUT")  # built


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("SECURITY_ID", "ABC", "bad SECURITY_ID"),
        ("SECURITY_ID", "99999999999", "bad SECURITY_ID"),  # beyond the feed's int32
        ("EXCH_ID", "BSE", "EXCH_ID BSE is not the exchange of NIFTY"),
        ("SEGMENT", "E", "bad SEGMENT"),
        ("LOT_SIZE", "65.5", "bad LOT_SIZE"),
        ("LOT_SIZE", "0", "bad LOT_SIZE"),
        ("SM_EXPIRY_DATE", "0001-01-01", "bad SM_EXPIRY_DATE"),
        ("SM_EXPIRY_DATE", "15-09-2026", "bad SM_EXPIRY_DATE"),
        ("STRIKE_PRICE", "-0.01000", "bad STRIKE_PRICE"),
        ("STRIKE_PRICE", "NaN", "bad STRIKE_PRICE"),
        ("OPTION_TYPE", "XX", "bad OPTION_TYPE"),
        ("TICK_SIZE", "", "missing TICK_SIZE"),
        ("SM_FREEZE_QTY", "many", "bad SM_FREEZE_QTY"),
    ],
)
def test_a_bad_option_row_is_skipped_and_counted(column: str, value: str, reason: str) -> None:
    fields = masters.NIFTY_23950_CE.split(",")
    fields[DETAILED_HEADER.index(column)] = value
    read, summary = parse(masters.master_text(",".join(fields), masters.NIFTY_29150_CE))
    assert summary["skipped"] == {reason: 1}
    assert [i.security_id for i in read.options(Underlying.NIFTY)] == ["35084"]


def test_a_security_id_listed_twice_keeps_the_first_row() -> None:
    again = masters.NIFTY_29150_CE.replace("35084", "47317")
    read, summary = parse(masters.master_text(masters.NIFTY_23950_CE, again))
    assert summary["skipped"] == {"SECURITY_ID listed twice": 1}
    assert read.get("47317").strike == Decimal(23950)


def test_a_file_that_is_not_a_detailed_master_is_refused(universe: Universe, tmp_path: Path) -> None:
    with pytest.raises(MasterFileError, match="compact SEM_"):
        parse_master(io.StringIO(compact_csv(universe)))
    assert COMPACT_HEADER[0] == "SEM_EXM_EXCH_ID"
    with pytest.raises(MasterFileError, match=r"missing columns .*LOT_SIZE"):
        parse_master(io.StringIO("EXCH_ID,SEGMENT,SECURITY_ID,INSTRUMENT\nNSE,D,1,OPTIDX\n"))
    with pytest.raises(MasterFileError, match="empty"):
        parse_master(io.StringIO(""))
    with pytest.raises(MasterFileError, match="cannot read"):
        read_master(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(masters.HEADER_2026.encode() + b"\n\xff\xfe\x00")
    with pytest.raises(MasterFileError, match="not UTF-8"):
        read_master(binary)


def test_a_byte_order_mark_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + masters.master_text(masters.NIFTY_23950_CE, "", masters.NIFTY_INDEX), "utf-8")
    loaded = read_master(path)
    assert (loaded.report.rows, loaded.report.indices, loaded.report.options) == (2, 1, 1)
