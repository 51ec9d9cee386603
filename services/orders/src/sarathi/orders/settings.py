"""Settings of the orders service (environment variables `SARATHI_ORDERS_*`, documented defaults)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import AliasChoices, AwareDatetime, Field, SecretStr, model_validator

from sarathi.common.settings import Mode, ServiceSettings


class RenewalMethod(StrEnum):
    """How orders (the one owner of the token) renews it."""

    NONE = "none"
    RENEW_TOKEN = "renew_token"  # noqa: S105 - a method name; GET /v2/RenewToken at the configured REST URL (live; sim)
    TOTP = "totp"  # PIN + TOTP at auth.dhan.co: mints a real token, so never in sim mode


class OrdersSettings(ServiceSettings):
    http_port: int = Field(
        default=8604, ge=1, le=65535, validation_alias=AliasChoices("SARATHI_ORDERS_HTTP_PORT", "http_port")
    )

    orders_rest_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="our timeout on each Dhan REST call (then: unknown outcome)"
    )
    orders_product_type: str = Field(default="INTRADAY", description="Dhan productType of every order")
    orders_reconcile_interval_seconds: float = Field(
        default=60.0, gt=0, description="market seconds between reconciliation passes"
    )
    orders_resolve_budget_seconds: float = Field(
        default=60.0, gt=0, description="how long to look an unknown order up before giving the command back"
    )
    orders_resolve_settle_seconds: float = Field(
        default=3.0, ge=0, description="an order must stay invisible this long to count as never placed"
    )
    orders_max_placements_per_command: int = Field(
        default=3, ge=1, le=10, description="placements sent under one command id (after definite absences)"
    )
    orders_submit_wait_reconciled_seconds: float = Field(
        default=20.0,
        gt=0,
        description="a submit waits this long for the start-up reconciliation, then is redelivered",
    )
    orders_exit_max_rounds: int = Field(default=20, ge=1, description="cancel/re-read rounds of one exit")
    orders_order_update_backoff_cap_seconds: float = Field(
        default=30.0, gt=0, description="longest wait between order-update socket reconnects"
    )
    orders_control_token: SecretStr = Field(
        default=SecretStr(""),
        description="bearer token of POST /kill (empty: the endpoint refuses everything)",
    )
    orders_kill_activates_kill_switch: bool = Field(
        default=False,
        description="after a kill, also activate Dhan's own kill switch (blocks trading for the day)",
    )
    orders_pnl_exit_loss_inr: Decimal | None = Field(
        default=None, gt=0, description="arm Dhan's P&L exit at this loss each morning (unset: off)"
    )
    orders_pnl_exit_kill_switch: bool = Field(
        default=True, description="P&L exit also activates the kill switch"
    )
    orders_pnl_exit_profit_floor_inr: Decimal = Field(
        default=Decimal(10_000_000),
        gt=0,
        description="the P&L exit's profit value is at least this (₹; a ceiling, never a target)",
    )
    orders_pnl_exit_profit_headroom: Decimal = Field(
        default=Decimal(2), gt=1, description="…and at least this × the day's profit at arming"
    )
    orders_pnl_exit_recheck_seconds: float = Field(
        default=60.0, gt=0, description="in the session, how often the day's profit is compared (market s)"
    )
    dhan_token_expires_at: AwareDatetime | None = Field(
        default=None, description="when the access token expires, if it is not a JWT with `exp`"
    )
    dhan_pin: SecretStr = Field(default=SecretStr(""), description="Dhan PIN, for TOTP token generation")
    dhan_totp_secret: SecretStr = Field(default=SecretStr(""), description="base32 TOTP secret")
    dhan_token_renew_before_seconds: float = Field(default=3600, gt=0)
    dhan_token_warn_before_seconds: float = Field(default=3 * 3600, gt=0)

    def token_expiry(self) -> datetime | None:
        return self.dhan_token_expires_at

    def renewal_method(self) -> RenewalMethod:
        if self.dhan_pin.get_secret_value() and self.dhan_totp_secret.get_secret_value():
            return RenewalMethod.TOTP
        if self.mode in (Mode.LIVE, Mode.SIM):  # paper: REST goes to sim, the feed to Dhan
            return RenewalMethod.RENEW_TOKEN
        return RenewalMethod.NONE

    @model_validator(mode="after")
    def _renewal_is_safe(self) -> Self:
        method = self.renewal_method()
        if method is RenewalMethod.TOTP and self.mode is Mode.SIM:
            raise ValueError(
                "SARATHI_DHAN_PIN and SARATHI_DHAN_TOTP_SECRET are refused in sim mode: "
                "TOTP generation would mint a real Dhan token"
            )
        if method is not RenewalMethod.NONE and self.shared_token_key() is None:
            raise ValueError(
                f"token renewal ({method.value}) in {self.mode.value} mode needs SARATHI_TOKEN_KEY, "
                "so that every service learns the renewed token"
            )
        return self
