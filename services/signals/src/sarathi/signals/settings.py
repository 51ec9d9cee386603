"""Settings of the signals service (environment variables `SARATHI_SIGNALS_*`, documented defaults)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import AliasChoices, Field

from sarathi.common.domain.instruments import Underlying
from sarathi.common.settings import ServiceSettings
from sarathi.signals.domain import TrendSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"SARATHI_SIGNALS_{name.upper()}", name)


class SignalsSettings(ServiceSettings):
    http_port: int = Field(default=8602, ge=1, le=65535, validation_alias=_env("http_port"))
    underlyings: tuple[Underlying, ...] = Field(
        default=(Underlying.NIFTY, Underlying.BANKNIFTY, Underlying.SENSEX),
        validation_alias=_env("underlyings"),
    )
    strategy: str = Field(
        default="st_rsi_adx", pattern=r"^[a-z0-9_]{1,24}$", validation_alias=_env("strategy")
    )
    bar_minutes: int = Field(default=5, ge=1, le=60, validation_alias=_env("bar_minutes"))
    close_grace_seconds: float = Field(default=1.0, ge=0, le=30, validation_alias=_env("close_grace_seconds"))
    warm_up_days: int = Field(default=3, ge=1, le=30, validation_alias=_env("warm_up_days"))
    supertrend_period: int = Field(default=10, ge=2, validation_alias=_env("supertrend_period"))
    supertrend_multiplier: Decimal = Field(
        default=Decimal(3), gt=0, validation_alias=_env("supertrend_multiplier")
    )
    rsi_period: int = Field(default=14, ge=2, validation_alias=_env("rsi_period"))
    rsi_bullish_above: Decimal = Field(default=Decimal(55), validation_alias=_env("rsi_bullish_above"))
    rsi_bearish_below: Decimal = Field(default=Decimal(45), validation_alias=_env("rsi_bearish_below"))
    adx_period: int = Field(default=14, ge=2, validation_alias=_env("adx_period"))
    adx_min: Decimal = Field(default=Decimal(20), ge=0, validation_alias=_env("adx_min"))
    recorder_directory: Path | None = Field(
        default=None,
        validation_alias=_env("recorder_directory"),
        description="where the Dhan replies acted on are recorded (replies-YYYYMMDD-signals.jsonl); "
        "unset: off",
    )

    def trend(self) -> TrendSettings:
        return TrendSettings(
            strategy=self.strategy,
            supertrend_period=self.supertrend_period,
            supertrend_multiplier=float(self.supertrend_multiplier),
            rsi_period=self.rsi_period,
            rsi_bullish_above=float(self.rsi_bullish_above),
            rsi_bearish_below=float(self.rsi_bearish_below),
            adx_period=self.adx_period,
            adx_min=float(self.adx_min),
        )
