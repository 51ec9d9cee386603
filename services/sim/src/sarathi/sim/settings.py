"""Settings of the sim service (environment variables `SARATHI_SIM_*`, documented defaults).

Every default lets the sim start with no configuration and lets every other service talk to it
with theirs: the client id and token default to `SarathiSettings.dhan_client_id` /
`dhan_access_token`, so a fresh checkout's services authenticate against a fresh sim.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import (
    AliasChoices,
    AwareDatetime,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)

from sarathi.common.settings import SIM_ACCESS_TOKEN, Mode, SarathiSettings, ServiceSettings
from sarathi.sim.api.auth import BadTokenStyle, RenewTokenReply
from sarathi.sim.api.static_ip import StaticIpRefusal, normalized
from sarathi.sim.api.trading import SuperCancelReply
from sarathi.sim.broker.config import StatusCase
from sarathi.sim.ratelimit import RateLimitTime
from sarathi.sim.ws.feed import FeedAuthRefusal
from sarathi.sim.ws.feed_hub import StatusOnSubscribe

_DEFAULT_CLIENT_ID = SarathiSettings.model_fields["dhan_client_id"].default


class OrderUpdateKeys(StrEnum):
    """How the order-update WebSocket spells the keys of `Data` (REFERENCE §5.3)."""

    PASCAL = "pascal"  # `OrderNo`, `TxnType`, `TradedQty` (the docs)
    CAMEL = "camel"  # `orderNo`, `txnType`, `tradedQty` (the SDK's handler; seen live in 2026)


class MarketSource(StrEnum):
    """Where the sim's prices come from (ARCHITECTURE §1)."""

    SYNTHETIC = "synthetic"  # `sim` mode: the seeded market model, scriptable
    REPLAY = "replay"  # `sim` mode with `sim_replay_file`: a feed recording played back
    PAPER = "paper"  # `paper` mode: real ticks from NATS (`md.tick.>`), wall-clock time


class SimSettings(ServiceSettings):
    """The sim's own settings on top of the common ones.

    Time: the simulation clock starts at `sim_start` (default: the first trading day from the
    date the process starts, at 09:15 IST — computed once from the calendar, never read again;
    in replay the first frame's receive time; in paper mode the wall clock, always) and runs at
    `sim_speed` market seconds per wall second; the control API changes both (not in paper mode).
    """

    http_port: int = Field(
        default=8600, ge=1, le=65535, validation_alias=AliasChoices("SARATHI_SIM_HTTP_PORT", "http_port")
    )

    sim_seed: int = Field(default=20260915, description="seed of the market model (same seed, same prices)")
    sim_start: AwareDatetime | None = Field(
        default=None, description="market instant the clock starts at; default: next session open"
    )
    sim_speed: Decimal = Field(
        default=Decimal(1), ge=1, le=2000, description="market seconds per wall second at start"
    )
    sim_start_paused: bool = Field(default=False, description="start with the clock paused")
    sim_clock_participants: tuple[str, ...] = Field(
        default=(),
        description="hold market time at each step until these services are done with it (the held "
        "day's clock protocol, `sarathi.sim.holds`); empty: never hold",
    )
    sim_clock_hold_timeout_seconds: float = Field(
        default=5.0, gt=0, description="wall seconds a hold waits for every answer before it is let go"
    )

    sim_client_id: str = Field(default=_DEFAULT_CLIENT_ID, min_length=1, description="the one Dhan client")
    sim_access_token: SecretStr = Field(default=SecretStr(SIM_ACCESS_TOKEN), description="its access token")
    sim_bad_token_style: BadTokenStyle = Field(
        default=BadTokenStyle.LIVE, description="REST answer to a bad token: live (400 DH-906) or docs (401)"
    )
    sim_renew_token_reply: RenewTokenReply = Field(
        default=RenewTokenReply.ACCESS_TOKEN,
        description="keys of RenewToken's reply: access_token (accessToken, expiryTime) or token",
    )
    sim_feed_auth_refusal: FeedAuthRefusal = Field(
        default=FeedAuthRefusal.PACKET,
        description="a feed socket with bad credentials: packet (code-50 reason, close), http_401, http_429",
    )
    sim_feed_status_on_subscribe: StatusOnSubscribe = Field(
        default=StatusOnSubscribe.CLOSED,
        description="a market-status packet after a subscribe: closed (outside the session only) or always",
    )
    sim_token_validity_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 365,
        description="`/profile` tokenValidity: this long after the sim starts (wall)",
    )
    sim_data_plan_active: bool = Field(default=True, description="`/profile` dataPlan: Active, else Deactive")
    sim_funds_inr: Decimal = Field(
        default=Decimal(1_000_000), ge=0, description="start-of-day funds of the paper account (`/fundlimit`)"
    )
    sim_order_update_status_case: StatusCase = Field(
        default=StatusCase.TITLE, description="casing of `Status` on the order-update socket"
    )
    sim_super_cancel_reply: SuperCancelReply = Field(
        default=SuperCancelReply.BODY,
        description="a super-order cancel answers body (200 {orderId, orderStatus}) or empty (202, no body)",
    )
    sim_order_update_keys: OrderUpdateKeys = Field(
        default=OrderUpdateKeys.PASCAL,
        description="spelling of the order-update `Data` keys: pascal (`OrderNo`, docs) or camel (`orderNo`)",
    )

    sim_static_ips: str | None = Field(
        default=None,
        description=(
            "comma-separated whitelisted client addresses for order placement, modification and "
            "cancellation (Dhan's static-IP rule; `/ip/getIP` lists them); unset: not enforced and "
            "getIP shows 127.0.0.1; empty or `none`: no static IP set, every order call refused"
        ),
    )
    sim_static_ip_refusal: StaticIpRefusal = Field(
        default=StaticIpRefusal.DH911,
        description="a refused address gets dh911 (the docs) or dh905 (older live replies, 'Invalid IP')",
    )

    sim_market_step_seconds: float = Field(
        default=1.0, gt=0, le=300, description="market seconds between two feed steps at low speed"
    )
    sim_max_feed_steps_per_wall_second: float = Field(
        default=20.0,
        gt=0,
        le=1000,
        description="at high speed the step is coarsened (to a multiple of the base step) to stay under this",
    )
    sim_anchor_day: date | None = Field(
        default=None,
        description=(
            "the trading day whose previous close is the reference level the market is built "
            "around (default: the start's trading day); fixes every past day's prices for a seed"
        ),
    )
    sim_rolling_option_max_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description=(
            "longest /charts/rollingoption range, toDate - fromDate in days: 30 (Dhan's docs), "
            "31 (the DhanHQ Ruby client's check and the docs' own example)"
        ),
    )
    sim_strikes_around_atm: int = Field(
        default=10, ge=1, le=100, description="strikes listed each side of the opening ATM strike"
    )

    sim_feed_queue_max_messages: int = Field(
        default=50_000, ge=100, description="a feed client that falls this far behind is disconnected"
    )
    sim_ws_ping_interval_seconds: float = Field(default=10.0, gt=0, description="server pings (Dhan: 10 s)")
    sim_ws_ping_timeout_seconds: float = Field(
        default=30.0, gt=0, description="close when no pong this long after a ping (Dhan: ~40 s silence)"
    )
    sim_order_update_login_timeout_seconds: float = Field(
        default=10.0, gt=0, description="the login frame must arrive within this (wall) time"
    )
    sim_rate_limit_time: RateLimitTime = Field(
        default=RateLimitTime.MARKET, description="the seconds Dhan's rate limits count: market or wall"
    )
    sim_publish_clock: bool = Field(
        default=True, description="connect NATS and publish the clock; off: no NATS at all (tests, demos)"
    )

    sim_state_dir: Path | None = Field(
        default=None,
        description=(
            "keep the paper broker and the clock here, durably, and continue from them at start "
            "(unset: in memory only, a restart is a fresh broker)"
        ),
    )
    sim_state_clock_save_seconds: float = Field(
        default=0.5, gt=0, le=60, description="with a state dir: save market time at least this often (wall)"
    )

    sim_replay_file: FilePath | None = Field(
        default=None, description="a feed recording to play back instead of the synthetic market (sim mode)"
    )
    sim_master_file: FilePath | None = Field(
        default=None,
        description=(
            "a Dhan detailed instrument master CSV to list instead of the synthetic universe "
            "(replay and paper modes, whose ticks carry real Dhan security ids)"
        ),
    )

    @field_validator("sim_static_ips")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() == "none":
            return None if value is None else ""
        try:
            return ",".join(normalized(item) for item in value.split(",") if item.strip())
        except ValueError as exc:
            raise ValueError(f"SARATHI_SIM_STATIC_IPS: not an IP address ({exc})") from None

    @property
    def static_ips(self) -> tuple[str, ...] | None:
        """The whitelisted addresses: None when the rule is not enforced, () when none is set."""
        if self.sim_static_ips is None:
            return None
        return tuple(self.sim_static_ips.split(",")) if self.sim_static_ips else ()

    @model_validator(mode="after")
    def _source_fits_mode(self) -> Self:
        if self.mode is Mode.LIVE:
            raise ValueError("the sim emulates Dhan for `sim` and `paper` modes; it has no part in `live`")
        if self.mode is Mode.PAPER:
            if self.sim_replay_file is not None:
                raise ValueError("SARATHI_SIM_REPLAY_FILE is for sim mode; paper mode takes ticks from NATS")
            if not self.sim_publish_clock:
                raise ValueError("paper mode takes ticks from NATS: SARATHI_SIM_PUBLISH_CLOCK must stay true")
            if self.sim_start is not None or self.sim_speed != 1 or self.sim_start_paused:
                raise ValueError(
                    "paper mode runs on the wall clock: no SARATHI_SIM_START, speed 1, not paused"
                )
        if self.sim_master_file is not None and self.market_source is MarketSource.SYNTHETIC:
            raise ValueError(
                "SARATHI_SIM_MASTER_FILE is for replay and paper modes: the synthetic market prices "
                "its own universe (set SARATHI_SIM_REPLAY_FILE or SARATHI_MODE=paper)"
            )
        return self

    @property
    def market_source(self) -> MarketSource:
        if self.mode is Mode.PAPER:
            return MarketSource.PAPER
        return MarketSource.SYNTHETIC if self.sim_replay_file is None else MarketSource.REPLAY

    def start_or(self, default: datetime) -> datetime:
        """The configured start instant, or `default` when none was set."""
        return self.sim_start if self.sim_start is not None else default
