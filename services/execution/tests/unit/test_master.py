"""The detailed scrip master: kept rows parsed by header name; a bad file is rejected with reasons."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from sarathi.execution.refdata.master import MasterRejectedError, parse_master
from sarathi.execution.refdata.store import compare

TODAY = date(2026, 9, 15)
HEADER = (
    "EXCH_ID,SEGMENT,SECURITY_ID,ISIN,INSTRUMENT,UNDERLYING_SECURITY_ID,UNDERLYING_SYMBOL,SYMBOL_NAME,DISPLAY_NAME,"
    "INSTRUMENT_TYPE,SERIES,LOT_SIZE,SM_EXPIRY_DATE,STRIKE_PRICE,OPTION_TYPE,TICK_SIZE,EXPIRY_FLAG,SM_FREEZE_QTY,"
)
INDICES = [
    "NSE,I,13,NA,INDEX,13,NIFTY,NIFTY,Nifty 50,INDEX,NA,1.0,0001-01-01,,XX,0.0500,,0,",
    "NSE,I,25,NA,INDEX,25,BANKNIFTY,BANKNIFTY,Nifty Bank,INDEX,NA,1.0,0001-01-01,,XX,0.0500,,0,",
    "BSE,I,51,NA,INDEX,51,SENSEX,SENSEX,SENSEX,INDEX,NA,1.0,0001-01-01,,XX,0.0500,,0,",
]


def option(sid: int, underlying: str = "NIFTY", *, lot: str = "65.0", expiry: str = "2026-09-22",
           strike: str = "24000.00000", side: str = "CE") -> str:  # fmt: skip
    """One OPTIDX row of the detailed master."""
    exchange = "BSE" if underlying == "SENSEX" else "NSE"
    names = f"{underlying},{underlying}-X-{sid},{underlying} {sid}"
    return f"{exchange},D,{sid},NA,OPTIDX,26000,{names},OP,NA,{lot},{expiry},{strike},{side},5.0000,W,1756,"


def a_master(*rows: str, indices: list[str] = INDICES) -> io.StringIO:
    base = [option(100 + i, u) for i, u in enumerate(["NIFTY", "BANKNIFTY", "SENSEX"] * 2)]
    return io.StringIO("\n".join([HEADER, *indices, *base, *rows]) + "\n")


def test_a_good_master_keeps_indices_and_index_options_with_rupee_ticks() -> None:
    parsed = parse_master(a_master(option(7, strike="23950.00000", side="PE")), TODAY, min_option_rows=5)
    assert {r["security_id"] for r in parsed.instruments} == {"13", "25", "51"}
    row = next(r for r in parsed.derivatives if r["security_id"] == "7")
    assert (row["strike"], row["option_type"], row["lot_size"], row["tick_size"]) == (
        Decimal("23950.00000"), "PE", 65, Decimal("0.05"),
    )  # fmt: skip
    assert (row["exchange_segment"], row["underlying_security_id"], row["freeze_quantity"]) == (
        "NSE_FNO",
        "13",
        1756,
    )


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (option(7, expiry="2026-09-14"), "in the past"),
        (option(7, lot="0"), "bad LOT_SIZE"),
        (option(7, lot="65.5"), "bad LOT_SIZE"),
        (option(7, side="XX"), "bad OPTION_TYPE"),
        (option(7, strike="abc"), "bad STRIKE_PRICE"),
        (
            option(7, underlying="SENSEX").replace("BSE,", "NSE,", 1),
            "EXCH_ID NSE is not the exchange of SENSEX",
        ),
        (option(100), "duplicate"),
        (option(7, lot="75.0"), "several lot sizes"),
    ],
)
def test_a_bad_row_rejects_the_whole_file(bad: str, reason: str) -> None:
    with pytest.raises(MasterRejectedError, match=reason):
        parse_master(a_master(bad), TODAY, min_option_rows=5)


def test_missing_columns_a_missing_index_or_too_few_rows_reject_the_file() -> None:
    with pytest.raises(MasterRejectedError, match="missing columns"):
        parse_master(io.StringIO("SECURITY_ID,FOO\n1,2\n"), TODAY, min_option_rows=1)
    with pytest.raises(MasterRejectedError, match="SENSEX"):
        parse_master(a_master(indices=INDICES[:2]), TODAY, min_option_rows=1)
    with pytest.raises(MasterRejectedError, match="at least 100"):
        parse_master(a_master(), TODAY, min_option_rows=100)
    with pytest.raises(MasterRejectedError):
        parse_master(io.StringIO(""), TODAY, min_option_rows=1)


def test_lot_size_and_expiry_changes_are_reported() -> None:
    old = [{"underlying": "NIFTY", "lot_size": 75, "expiry": date(2026, 9, 15)}]
    new = [{"underlying": "NIFTY", "lot_size": 65, "expiry": date(2026, 9, 22)}]
    changes = compare(old, new)
    assert changes.lot_sizes == ["lot size NIFTY: [75] → [65]"]
    assert changes.expiries_added == ["expiries added NIFTY: 2026-09-22"]
    assert changes.expiries_removed == ["expiries removed NIFTY: 2026-09-15"]


def test_a_freeze_quantity_of_na_or_below_one_means_none_published_and_the_file_is_kept() -> None:
    """REFERENCE §9.3: `SM_FREEZE_QTY` ≤ 0 means none published; NA (as in other columns) likewise."""
    rows = (option(7).replace(",1756,", ",NA,"), option(8).replace(",1756,", ",0,"))
    parsed = parse_master(a_master(*rows), TODAY, min_option_rows=5)
    freeze = {r["security_id"]: r["freeze_quantity"] for r in parsed.derivatives}
    assert (freeze["7"], freeze["8"], freeze["100"]) == (None, None, 1756)
