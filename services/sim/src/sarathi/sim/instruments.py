"""The simulated instrument universe: the indices and their option contracts for a trading day.

What Dhan's scrip master lists, the sim lists here; the master CSVs, the option chain, the feed
and the paper broker all look instruments up in one `Universe`. The synthetic universe
(`universe_builder`) has deterministic security ids (from underlying, expiry, strike and side), so
the same settings give the same ids every run; in replay and paper modes the universe may instead
be read from Dhan's detailed master (`master_reader`), with Dhan's own ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying


@dataclass(frozen=True, slots=True)
class SimInstrument:
    """One row of the simulated scrip master."""

    security_id: str
    segment: ExchangeSegment
    underlying: Underlying
    symbol: str  # Dhan's trading symbol, e.g. NIFTY-Sep2026-24000-CE
    display_name: str  # e.g. NIFTY 15 SEP 24000 CALL
    lot_size: int
    tick_size: Decimal
    expiry: date | None = None  # None for an index
    strike: Decimal | None = None
    option_type: OptionType | None = None
    weekly: bool = False
    freeze_qty: int = 0

    @property
    def is_index(self) -> bool:
        return self.option_type is None


class UnknownInstrumentError(KeyError):
    """A security id the sim does not list (Dhan answers 813 / DH-905 for these)."""


class Universe:
    """All instruments of the simulated day, looked up by (segment, security id) or by id."""

    def __init__(self, instruments: Iterable[SimInstrument]) -> None:
        self._by_id: dict[str, SimInstrument] = {}
        for instrument in instruments:
            if instrument.security_id in self._by_id:
                raise ValueError(f"security id {instrument.security_id} listed twice")
            self._by_id[instrument.security_id] = instrument

    def __iter__(self) -> Iterator[SimInstrument]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, security_id: str) -> SimInstrument:
        try:
            return self._by_id[str(security_id)]
        except KeyError:
            raise UnknownInstrumentError(security_id) from None

    def find(self, segment: ExchangeSegment, security_id: str) -> SimInstrument | None:
        instrument = self._by_id.get(str(security_id))
        return instrument if instrument is not None and instrument.segment is segment else None

    def index(self, underlying: Underlying) -> SimInstrument:
        return self.get(underlying.spec.security_id)

    def options(self, underlying: Underlying, expiry: date | None = None) -> list[SimInstrument]:
        return [
            i
            for i in self._by_id.values()
            if i.underlying is underlying and not i.is_index and (expiry is None or i.expiry == expiry)
        ]

    def expiries(self, underlying: Underlying) -> list[date]:
        return sorted({i.expiry for i in self.options(underlying) if i.expiry is not None})
