"""Dhan's instrument master files for a `Universe` (REFERENCE §9).

- compact: the 16 `SEM_*` columns of §9.2 (`api-scrip-master.csv`);
- detailed: the 2026 header of §9.3, 32 named columns plus the trailing empty one every row
  carries (`api-scrip-master-detailed.csv`, and `GET /v2/instrument/{segment}` per segment).

Row shapes follow the live samples of §9.4: option tick sizes in paise (`5.0000`), index rows
with `0.0500`, strikes with five decimals, lot sizes as floats. Filler columns of index rows
differ between live captures (UNVERIFIED, §9.4); clients must parse by header name anyway.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal

from sarathi.common.domain.instruments import Exchange, ExchangeSegment, Underlying
from sarathi.sim.instruments import SimInstrument, Universe

COMPACT_HEADER = (
    "SEM_EXM_EXCH_ID", "SEM_SEGMENT", "SEM_SMST_SECURITY_ID", "SEM_INSTRUMENT_NAME", "SEM_EXPIRY_CODE",
    "SEM_TRADING_SYMBOL", "SEM_LOT_UNITS", "SEM_CUSTOM_SYMBOL", "SEM_EXPIRY_DATE", "SEM_STRIKE_PRICE",
    "SEM_OPTION_TYPE", "SEM_TICK_SIZE", "SEM_EXPIRY_FLAG", "SEM_EXCH_INSTRUMENT_TYPE", "SEM_SERIES",
    "SM_SYMBOL_NAME",
)  # fmt: skip
DETAILED_HEADER = (
    "EXCH_ID", "SEGMENT", "SECURITY_ID", "ISIN", "INSTRUMENT", "UNDERLYING_SECURITY_ID", "UNDERLYING_SYMBOL",
    "SYMBOL_NAME", "DISPLAY_NAME", "INSTRUMENT_TYPE", "SERIES", "LOT_SIZE", "SM_EXPIRY_DATE", "STRIKE_PRICE",
    "OPTION_TYPE", "TICK_SIZE", "EXPIRY_FLAG", "BRACKET_FLAG", "COVER_FLAG", "ASM_GSM_FLAG",
    "ASM_GSM_CATEGORY",
    "BUY_SELL_INDICATOR", "BUY_CO_MIN_MARGIN_PER", "BUY_CO_SL_RANGE_MAX_PERC", "BUY_CO_SL_RANGE_MIN_PERC",
    "BUY_BO_MIN_MARGIN_PER", "BUY_BO_PROFIT_RANGE_MAX_PERC", "BUY_BO_PROFIT_RANGE_MIN_PERC", "MTF_LEVERAGE",
    "SM_UPPER_LIMIT", "SM_LOWER_LIMIT", "SM_FREEZE_QTY",
)  # fmt: skip
# The detailed master's underlying id of derivatives is the exchange index token (§9.3).
EXCHANGE_INDEX_TOKENS = {Underlying.NIFTY: "26000", Underlying.BANKNIFTY: "26009", Underlying.SENSEX: "1"}
NO_EXPIRY = "0001-01-01"

CircuitLimits = Mapping[str, tuple[Decimal, Decimal]]
"""security id → (upper, lower) circuit limit in rupees, for the detailed file."""


def _exchange(instrument: SimInstrument) -> str:
    return "BSE" if instrument.underlying.spec.exchange is Exchange.BSE else "NSE"


def _strike(instrument: SimInstrument) -> str:
    return "" if instrument.strike is None else f"{instrument.strike:.5f}"


def _tick(instrument: SimInstrument) -> str:
    if instrument.is_index:
        return f"{instrument.tick_size:.4f}"
    return f"{instrument.tick_size * 100:.4f}"  # paise on tradable rows (§9.2, verified live)


def _flag(instrument: SimInstrument) -> str:
    if instrument.is_index:
        return ""
    return "W" if instrument.weekly else "M"


def _exch_instrument_type(instrument: SimInstrument) -> str:
    if instrument.is_index:
        return "INDEX"
    return "OPTIDX" if instrument.underlying.spec.exchange is Exchange.BSE else "OP"


def _write(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def compact_row(instrument: SimInstrument) -> list[str]:
    if instrument.is_index:
        name = instrument.underlying.spec.name
        return [
            _exchange(instrument), "I", instrument.security_id, "INDEX", "0", name, "1.0",
            instrument.display_name, NO_EXPIRY, "", "XX", _tick(instrument), "", "INDEX", "X", name,
        ]  # fmt: skip
    assert instrument.expiry is not None
    assert instrument.option_type is not None
    return [
        _exchange(instrument), "D", instrument.security_id, "OPTIDX", "0", instrument.symbol,
        f"{instrument.lot_size}.0", instrument.display_name, f"{instrument.expiry.isoformat()} 14:30:00",
        _strike(instrument), instrument.option_type.value, _tick(instrument), _flag(instrument),
        _exch_instrument_type(instrument), "", "",
    ]  # fmt: skip


def detailed_row(instrument: SimInstrument, limits: CircuitLimits | None = None) -> list[str]:
    """One detailed row, trailing empty column included."""
    name = instrument.underlying.spec.name
    if instrument.is_index:
        return [
            _exchange(instrument), "I", instrument.security_id, "NA", "INDEX", instrument.security_id, name,
            name, instrument.display_name, "INDEX", "NA", "1.0", NO_EXPIRY, "", "XX", _tick(instrument),
            "N", "N", "N", "N", "NA", "A", *["0"] * 7, "0", "0", "0", "",
        ]  # fmt: skip
    assert instrument.expiry is not None
    assert instrument.option_type is not None
    upper, lower = (limits or {}).get(instrument.security_id, (Decimal(0), Decimal(0)))
    symbol = "BSXOPT" if instrument.underlying is Underlying.SENSEX else instrument.symbol  # as live (§9.3)
    return [
        _exchange(instrument), "D", instrument.security_id, "NA", "OPTIDX",
        EXCHANGE_INDEX_TOKENS[instrument.underlying], name, symbol, instrument.display_name,
        _exch_instrument_type(instrument), "NA", f"{instrument.lot_size}.0",
        instrument.expiry.isoformat(), _strike(instrument), instrument.option_type.value, _tick(instrument),
        _flag(instrument), "N", "N", "N", "NA", "A", *["0"] * 7, f"{upper:.4f}", f"{lower:.4f}",
        str(instrument.freeze_qty), "",
    ]  # fmt: skip


def _ordered(universe: Universe) -> list[SimInstrument]:
    return sorted(universe, key=lambda i: (not i.is_index, i.underlying.value, i.expiry or 0, i.strike or 0,
                                           i.option_type or ""))  # fmt: skip


def compact_csv(universe: Universe) -> str:
    """`api-scrip-master.csv` for the universe."""
    return _write(COMPACT_HEADER, (compact_row(i) for i in _ordered(universe)))


def detailed_csv(
    universe: Universe, segment: ExchangeSegment | None = None, limits: CircuitLimits | None = None
) -> str:
    """`api-scrip-master-detailed.csv` (all segments) or one segment's list; header ends with a comma."""
    rows = (detailed_row(i, limits) for i in _ordered(universe) if segment is None or i.segment is segment)
    return _write((*DETAILED_HEADER, ""), rows)
