"""Settings of the risk service (environment variables, documented defaults).

Risk rules are `SARATHI_RISK_*`; the operator API's bearer token is `SARATHI_CONTROL_TOKEN` (the
`sarathi` command reads the same variable). With no token configured every protected endpoint
answers 401: the API is closed until an operator sets one.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from pydantic import AliasChoices, Field, SecretStr

from sarathi.common.domain.control import TradingState
from sarathi.common.settings import ServiceSettings
from sarathi.risk.domain.rules import PnlBasis, RiskRules


class RiskSettings(ServiceSettings):
    http_port: int = Field(
        default=8605, ge=1, le=65535, validation_alias=AliasChoices("SARATHI_RISK_HTTP_PORT", "http_port")
    )

    risk_loop_interval_seconds: float = Field(
        default=5.0, gt=0, le=60, description="market seconds between two checks of every position"
    )
    risk_ready_loop_periods: float = Field(
        default=3.0, ge=1, description="not ready when the loop's last check is older than this many periods"
    )
    risk_evaluate_on_tick: bool = Field(
        default=False, description="also check a position on each of its ticks (the loop stays the watchdog)"
    )
    risk_min_profit_lock_inr: Decimal = Field(
        default=Decimal(1000), gt=0, description="P&L at which the trailing profit lock arms"
    )
    risk_trail_giveback_ratio: Decimal = Field(
        default=Decimal("0.05"), gt=0, lt=1, description="exit when P&L ≤ high-water mark × (1 − this)"
    )
    risk_trail_pnl_basis: PnlBasis = Field(
        default=PnlBasis.GROSS, description="P&L the lock and the trail use: gross or net of charges"
    )
    risk_daily_loss_limit_inr: Decimal = Field(
        default=Decimal(5000), gt=0, description="today's net P&L at or below minus this halts and flattens"
    )
    risk_stale_after_seconds: float = Field(
        default=10.0, gt=0, description="a contract without a tick for this long is stale: no decisions"
    )
    risk_stale_exit_after_seconds: float = Field(
        default=60.0, gt=0, description="a position stale this long is exited at market (broker's price)"
    )
    risk_exit_resend_seconds: float = Field(
        default=30.0, gt=0, description="an exit still open after this long is re-sent (same command id)"
    )
    risk_square_off_time: time = Field(default=time(15, 15), description="IST time every position is exited")
    risk_feed_timeout_seconds: float = Field(
        default=2.0, gt=0, description="timeout of feed subscribe / snapshot requests"
    )
    risk_initial_trading_state: TradingState = Field(
        default=TradingState.ACTIVE, description="state written when the control KV has none yet"
    )
    control_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("SARATHI_CONTROL_TOKEN", "control_token"),
        description="bearer token of the operator API (empty: every protected call gets 401)",
    )
    control_operator: str = Field(
        default="operator",
        min_length=1,
        max_length=64,
        validation_alias=AliasChoices("SARATHI_CONTROL_OPERATOR", "control_operator"),
        description="who the audit log names for calls made with the token",
    )

    def rules(self) -> RiskRules:
        """The pure domain's view of these settings."""
        return RiskRules(
            min_profit_lock=self.risk_min_profit_lock_inr,
            giveback_ratio=self.risk_trail_giveback_ratio,
            pnl_basis=self.risk_trail_pnl_basis,
            daily_loss_limit=self.risk_daily_loss_limit_inr,
            stale_after_seconds=self.risk_stale_after_seconds,
            stale_exit_after_seconds=self.risk_stale_exit_after_seconds,
            square_off=self.risk_square_off_time,
        )
