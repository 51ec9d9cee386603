"""The trading state every service obeys (ARCHITECTURE §3, KV bucket `control`)."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    RECONCILING = "RECONCILING"  # orders has not yet matched its books with the broker: no entries
    ACTIVE = "ACTIVE"  # normal trading
    PAUSED = "PAUSED"  # no new entries; open positions are still managed
    HALTED = "HALTED"  # flatten and stay flat

    @property
    def allows_entries(self) -> bool:
        return self is TradingState.ACTIVE
