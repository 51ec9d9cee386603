"""Trader's control (REFERENCE §4.6): the kill switch and the P&L-based exit, with Dhan's reply shapes.

Rules: the kill switch may be activated only with no open positions and no pending orders, and
then refuses new orders and modifications until deactivated (the sim allows deactivation; Dhan
says it lasts the day). A P&L exit is checked at every market step on the positions of its
product types (`INTRADAY` → INTRADAY; `DELIVERY` → CNC, MARGIN and MTF: UNVERIFIED); when total
P&L (realized + unrealized) reaches `profitValue` or falls to −`lossValue` it exits those
positions, disables itself, and activates the kill switch if asked to. Dhan documents that a
`profitValue` already below the current profit (or a `lossValue` already exceeded) fires at once
and names no value meaning "off": so 0 is a value like any other (a profit value of 0 fires as soon
as the day is not in loss). Whether the boundary itself (P&L exactly equal) fires is UNVERIFIED;
the sim fires on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sarathi.sim.broker.models import Product

PNL_PRODUCTS: dict[str, tuple[Product, ...]] = {
    "INTRADAY": (Product.INTRADAY,),
    "DELIVERY": (Product.CNC, Product.MARGIN, Product.MTF),
}


@dataclass(frozen=True, slots=True)
class PnlExitRule:
    profit_value: Decimal  # ₹: exit everything once the day's P&L is at or above it
    loss_value: Decimal  # ₹ (positive): exit everything once the day's P&L is at or below −it
    product_types: tuple[str, ...]  # as sent: INTRADAY, DELIVERY
    enable_kill_switch: bool = False

    @property
    def products(self) -> frozenset[Product]:
        return frozenset(p for name in self.product_types for p in PNL_PRODUCTS[name])

    def breached(self, pnl: Decimal) -> bool:
        return pnl >= self.profit_value or pnl <= -self.loss_value


@dataclass
class TraderControls:
    client_id: str
    kill_switch_active: bool = False
    pnl_exit: PnlExitRule | None = None

    def kill_switch_reply(self) -> dict[str, Any]:
        word = "activated" if self.kill_switch_active else "deactivated"
        return {
            "dhanClientId": self.client_id,
            "killSwitchStatus": f"Kill Switch has been successfully {word}",
        }

    def kill_switch_status(self) -> dict[str, Any]:
        status = "ACTIVATE" if self.kill_switch_active else "DEACTIVATE"
        return {"dhanClientId": self.client_id, "killSwitchStatus": status}

    def pnl_exit_status(self) -> dict[str, Any]:
        """GET /pnlExit (the docs' sample spells `enable_kill_switch` in snake case)."""
        rule = self.pnl_exit
        if rule is None:
            return {
                "pnlExitStatus": "DISABLED",
                "profit": 0.0,
                "loss": 0.0,
                "productType": [],
                "enable_kill_switch": False,
            }
        return {
            "pnlExitStatus": "ACTIVE",
            "profit": float(rule.profit_value),
            "loss": float(rule.loss_value),
            "productType": list(rule.product_types),
            "enable_kill_switch": rule.enable_kill_switch,
        }
