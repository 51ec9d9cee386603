"""The risk rules as plain values (built from settings by `RiskSettings.rules()`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from enum import StrEnum


class PnlBasis(StrEnum):
    """Which P&L the profit lock and the trail follow."""

    GROSS = "gross"  # (ltp − average entry) × quantity
    NET = "net"  # gross less the charges of the round trip (sold at ltp)


@dataclass(frozen=True, slots=True)
class RiskRules:
    """Defaults from the mission: lock at ₹1,000, exit 5 % below the high-water mark, 15:15 square-off."""

    min_profit_lock: Decimal = Decimal(1000)
    giveback_ratio: Decimal = Decimal("0.05")
    pnl_basis: PnlBasis = PnlBasis.GROSS
    daily_loss_limit: Decimal = Decimal(5000)
    stale_after_seconds: float = 10.0
    stale_exit_after_seconds: float = 60.0
    square_off: time = time(15, 15)

    def __post_init__(self) -> None:
        if self.min_profit_lock <= 0 or self.daily_loss_limit <= 0:
            raise ValueError("the profit lock and the daily loss limit are positive amounts")
        if not 0 < self.giveback_ratio < 1:
            raise ValueError(f"giveback ratio {self.giveback_ratio} must lie strictly between 0 and 1")
        if self.stale_exit_after_seconds < self.stale_after_seconds:
            raise ValueError("a position is exited for staleness only after it was flagged stale")

    @property
    def keep_ratio(self) -> Decimal:
        """The share of the high-water mark below which the trail exits (0.95 by default)."""
        return 1 - self.giveback_ratio
