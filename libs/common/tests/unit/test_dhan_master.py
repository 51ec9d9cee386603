"""The shared detailed-master reader: rows classified by header name, bad rows of ours named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sarathi.common.dhan.master import MasterFileError, MasterIndex, MasterOption, Other, RowError, read_rows
from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying

HEADER = "\ufeffexch_id,SEGMENT,SECURITY_ID,INSTRUMENT,UNDERLYING_SYMBOL,SYMBOL_NAME,LOT_SIZE,SM_EXPIRY_DATE,"
HEADER += "STRIKE_PRICE,OPTION_TYPE,TICK_SIZE,EXPIRY_FLAG,"


def test_rows_are_read_by_header_name_and_classified() -> None:
    lines = [
        HEADER,
        "NSE,I,13,INDEX,NIFTY,NIFTY,1.0,0001-01-01,,XX,0.0500,,",
        "BSE,D,1190,OPTIDX,SENSEX,BSXOPT,20.0,2026-09-17 14:30:00,82000.00000,pe,5.0000,W,",
        "NSE,D,7,OPTIDX,NIFTY,NIFTY-X,65.5,2026-09-22,24000.00000,CE,5.0000,W,",
        "NSE,E,2885,EQUITY,RELIANCE,RELIANCE,1.0,0001-01-01,,XX,10.0000,NA,",
        ",,,,,,,,,,,,",
    ]
    index, option, bad, other = read_rows(lines)

    assert isinstance(index, MasterIndex)
    assert (index.security_id, index.exchange, index.segment, index.tick_size) == ("13", "NSE", "I", "0.0500")
    assert option == MasterOption(
        line=3, security_id="1190", underlying=Underlying.SENSEX, segment=ExchangeSegment.BSE_FNO,
        expiry=date(2026, 9, 17), strike=Decimal(82000), option_type=OptionType.PUT, lot_size=20,
        tick_size=Decimal("0.05"), freeze_qty=0, weekly=True, symbol_name="BSXOPT", display_name="",
    )  # fmt: skip
    assert bad == RowError(4, "bad LOT_SIZE")
    assert other == Other(5, "EQUITY")


def test_a_file_without_the_detailed_columns_is_no_master() -> None:
    with pytest.raises(MasterFileError, match="compact SEM_"):
        list(read_rows(["SEM_EXM_EXCH_ID,SEM_SMST_SECURITY_ID", "NSE,13"]))
    with pytest.raises(MasterFileError, match="empty"):
        list(read_rows([]))
