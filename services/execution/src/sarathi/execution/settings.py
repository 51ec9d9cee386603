"""Settings of the execution service (environment variables `SARATHI_EXECUTION_*`, documented defaults).

Every number of strike selection, the gates, sizing and the instrument sync is a setting; the
domain receives them as the frozen rule objects built by `strike_rules`, `gate_rules` and
`sizing_rules`, never the settings object itself.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field

from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import EntryOrderType
from sarathi.common.settings import Mode, ServiceSettings
from sarathi.execution.domain.expiry import ExpiryDayPolicy
from sarathi.execution.domain.gates import GateRules
from sarathi.execution.domain.sizing import OffsetKind, SizingMode, SizingRules
from sarathi.execution.domain.strikes import StrikeRules

DHAN_DETAILED_MASTER = "https://images.dhan.co/api-data/api-scrip-master-detailed.csv"  # REFERENCE §9.1
SIM_DETAILED_MASTER = "http://127.0.0.1:8600/api-data/api-scrip-master-detailed.csv"


def default_master_url(mode: Mode) -> str:
    """Dhan's detailed master in paper and live (real security ids), the local sim's in sim."""
    return SIM_DETAILED_MASTER if mode is Mode.SIM else DHAN_DETAILED_MASTER


def _master_for_mode(data: dict[str, Any]) -> str:
    return default_master_url(Mode(data.get("mode", Mode.SIM)))


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"SARATHI_EXECUTION_{name.upper()}", name)


def _field(default: Any, name: str, description: str = "", **constraints: Any) -> Any:
    return Field(default=default, validation_alias=_env(name), description=description, **constraints)


class ExecutionSettings(ServiceSettings):
    http_port: int = _field(8603, "http_port", ge=1, le=65535)
    underlyings: tuple[Underlying, ...] = _field(
        (Underlying.NIFTY, Underlying.BANKNIFTY, Underlying.SENSEX), "underlyings"
    )

    # --- strike selection -----------------------------------------------------------------------
    strikes_around_atm: int = _field(
        3, "strikes_around_atm", "candidate strikes each side of ATM", ge=0, le=20
    )
    min_oi: int = _field(100_000, "min_oi", "minimum open interest (units)", ge=0)
    min_volume: int = _field(10_000, "min_volume", "minimum traded volume today (units)", ge=0)
    max_spread_ratio: Decimal = _field(Decimal("0.02"), "max_spread_ratio", "maximum (ask − bid) / mid", ge=0)
    min_abs_delta: Decimal = _field(Decimal("0.25"), "min_abs_delta", ge=0, le=1)
    max_abs_delta: Decimal = _field(Decimal("0.70"), "max_abs_delta", ge=0, le=1)
    min_premium: Decimal = _field(Decimal("5"), "min_premium", "cheapest ask worth buying (₹)", ge=0)
    expiry_day_policy: ExpiryDayPolicy = _field(ExpiryDayPolicy.ROLL_AFTER_CUTOFF, "expiry_day_policy")
    expiry_roll_cutoff: time = _field(time(13, 0), "expiry_roll_cutoff", "IST, with roll_after_cutoff")

    # --- option chain -------------------------------------------------------------------------
    chain_max_age_seconds: float = _field(
        15.0, "chain_max_age_seconds", "market seconds a cached chain is used (and its prices trusted)", gt=0
    )

    # --- gates ----------------------------------------------------------------------------------
    entry_window_start: time = _field(time(9, 20), "entry_window_start", "IST, no entries before")
    entry_window_end: time = _field(time(15, 0), "entry_window_end", "IST, no entries at or after")
    max_signal_age_seconds: float = _field(
        120.0, "max_signal_age_seconds", "a signal older than this (market time) is not acted on", gt=0
    )
    max_tick_age_seconds: float = _field(
        15.0, "max_tick_age_seconds", "the underlying's last tick must be this recent", gt=0
    )
    max_entries_per_underlying: int = _field(3, "max_entries_per_underlying", "entry + pyramids", ge=1, le=3)
    pyramid_requires_profit: bool = _field(True, "pyramid_requires_profit")
    pending_entry_ttl_seconds: float = _field(
        300.0, "pending_entry_ttl_seconds", "a submitted entry with no position after this is forgotten", gt=0
    )
    max_capital_per_trade_inr: Decimal = _field(Decimal("50000"), "max_capital_per_trade_inr", gt=0)
    max_total_exposure_inr: Decimal = _field(Decimal("150000"), "max_total_exposure_inr", gt=0)
    require_reconciliation: bool = _field(
        True, "require_reconciliation", "no entries until orders reconciled"
    )
    snapshot_timeout_seconds: float = _field(0.5, "snapshot_timeout_seconds", gt=0)
    loss_budget_max_age_seconds: float = _field(
        60.0,
        "loss_budget_max_age_seconds",
        "risk's budget figure older than this (market time) refuses",
        gt=0,
    )

    # --- sizing ---------------------------------------------------------------------------------
    sizing_mode: SizingMode = _field(SizingMode.LOTS, "sizing_mode", "lots | risk")
    lots: int = _field(1, "lots", "lots per entry with sizing_mode=lots", ge=1)
    risk_per_trade_inr: Decimal = _field(
        Decimal("5000"), "risk_per_trade_inr", "most one entry may lose at its stop, charges included", gt=0
    )
    stop_slippage_percent: Decimal = _field(
        Decimal("2"), "stop_slippage_percent", "the stop (and a MARKET entry) may fill this much worse",
        ge=0, lt=100,
    )  # fmt: skip
    max_lots: int = _field(10, "max_lots", ge=1)
    entry_order_type: EntryOrderType = _field(EntryOrderType.LIMIT, "entry_order_type")
    target_kind: OffsetKind = _field(OffsetKind.PERCENT, "target_kind", "percent | points")
    target_value: Decimal = _field(Decimal("30"), "target_value", gt=0)
    stop_loss_kind: OffsetKind = _field(OffsetKind.PERCENT, "stop_loss_kind", "percent | points")
    stop_loss_value: Decimal = _field(Decimal("20"), "stop_loss_value", gt=0)
    trailing_jump: Decimal = _field(
        Decimal("0"), "trailing_jump", "₹ step of the broker's trail; 0 = none", ge=0
    )

    # --- reference data -------------------------------------------------------------------------
    instrument_master_url: str = Field(
        default_factory=_master_for_mode,
        validation_alias=_env("instrument_master_url"),
        description="URL or file path; default: Dhan's detailed master in paper and live, the sim's in sim",
    )
    instrument_sync_at: time = _field(time(8, 0), "instrument_sync_at", "IST, daily, before the open")
    instrument_sync_on_start: bool = _field(True, "instrument_sync_on_start", "sync at start if not today")
    instrument_min_option_rows: int = _field(20, "instrument_min_option_rows", ge=1)
    instrument_max_shrink_ratio: Decimal = _field(
        Decimal("0.5"),
        "instrument_max_shrink_ratio",
        "refuse a file with fewer than this × old rows",
        ge=0,
        le=1,
    )
    refdata_cache_seconds: float = _field(60.0, "refdata_cache_seconds", "wall seconds", gt=0)

    # --- recording ------------------------------------------------------------------------------
    recorder_directory: Path | None = _field(
        None, "recorder_directory",
        "where the option chains fetched (replies-YYYYMMDD-execution.jsonl) and the instruments "
        "synced (instruments-YYYYMMDD.csv) are recorded; unset: off",
    )  # fmt: skip
    decisions_page_max: int = _field(200, "decisions_page_max", ge=1)

    def strike_rules(self) -> StrikeRules:
        return StrikeRules(
            strikes_around_atm=self.strikes_around_atm, min_oi=self.min_oi, min_volume=self.min_volume,
            max_spread_ratio=self.max_spread_ratio, min_abs_delta=self.min_abs_delta,
            max_abs_delta=self.max_abs_delta, min_premium=self.min_premium,
        )  # fmt: skip

    def gate_rules(self) -> GateRules:
        return GateRules(
            entry_window_start=self.entry_window_start, entry_window_end=self.entry_window_end,
            max_signal_age_seconds=self.max_signal_age_seconds,
            max_tick_age_seconds=self.max_tick_age_seconds,
            max_chain_age_seconds=self.chain_max_age_seconds,
            max_entries_per_underlying=self.max_entries_per_underlying,
            pyramid_requires_profit=self.pyramid_requires_profit,
            max_capital_per_trade_inr=self.max_capital_per_trade_inr,
            max_total_exposure_inr=self.max_total_exposure_inr,
            max_loss_budget_age_seconds=self.loss_budget_max_age_seconds,
        )  # fmt: skip

    def sizing_rules(self) -> SizingRules:
        return SizingRules(
            mode=self.sizing_mode, lots=self.lots, risk_per_trade_inr=self.risk_per_trade_inr,
            max_lots=self.max_lots, order_type=self.entry_order_type, target_kind=self.target_kind,
            target_value=self.target_value, stop_loss_kind=self.stop_loss_kind,
            stop_loss_value=self.stop_loss_value, trailing_jump=self.trailing_jump,
            max_capital_per_trade_inr=self.max_capital_per_trade_inr,
            stop_slippage_percent=self.stop_slippage_percent,
        )  # fmt: skip
