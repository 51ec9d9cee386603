"""Settings of the paper broker (the app author builds one from the sim's settings)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sarathi.sim.broker.matching import DEFAULT_MPP_SLABS, MppSlab


class StatusCase(StrEnum):
    """Casing of `Status` in order alerts (REFERENCE §5.3: title case in the docs' sample, UNVERIFIED)."""

    TITLE = "title"  # Transit, Pending, Part_Traded, Traded, Cancelled ...
    UPPER = "upper"  # TRANSIT, PENDING, PART_TRADED ...


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    client_id: str = "1000000001"
    slippage_ticks: int = 0  # fills move this many ticks against the trader (never beyond a limit)
    respect_touch_quantity: bool = False  # fill at most the touch quantity (whole lots) per step
    status_case: StatusCase = StatusCase.TITLE
    sod_limit: Decimal = Decimal(1_000_000)  # start-of-day funds, ₹
    check_funds: bool = True  # reject buys that need more than the available balance (RMS)
    max_modifications: int = 25  # per order (REFERENCE §1.7)
    correlation_id_max_len: int = 25  # live sandbox cap (docs: 30), REFERENCE §2.3
    mpp_slabs: tuple[MppSlab, ...] = DEFAULT_MPP_SLABS
