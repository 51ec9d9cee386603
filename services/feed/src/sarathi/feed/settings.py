"""Settings of the feed service (environment variables `SARATHI_FEED_*`, documented defaults)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator

from sarathi.common.dhan.feed_requests import (
    MAX_CONNECTIONS,
    MAX_INSTRUMENTS_PER_CONNECTION,
    FeedInstrument,
    FeedMode,
)
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.common.settings import ServiceSettings

_MODES = {"ticker": FeedMode.TICKER, "quote": FeedMode.QUOTE, "full": FeedMode.FULL}


def parse_instruments(text: str) -> tuple[FeedInstrument, ...]:
    """`"IDX_I:13,IDX_I:25"` → instruments (segment as Dhan spells it, numeric security id)."""
    out = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        segment, _, security_id = item.partition(":")
        if not security_id.isdigit():
            raise ValueError(f"instrument {item!r}: expected SEGMENT:SECURITY_ID, e.g. IDX_I:13")
        out.append(FeedInstrument(ExchangeSegment.from_wire(segment), security_id))
    return tuple(out)


class FeedSettings(ServiceSettings):
    http_port: int = Field(
        default=8601, ge=1, le=65535, validation_alias=AliasChoices("SARATHI_FEED_HTTP_PORT", "http_port")
    )
    feed_indices: str = Field(
        default="IDX_I:13,IDX_I:25,IDX_I:51",
        description="subscribed at start and never released: NIFTY, BANKNIFTY, SENSEX",
    )
    feed_index_mode: str = Field(default="ticker", description="ticker | quote | full, for IDX_I instruments")
    feed_contract_mode: str = Field(
        default="full", description="ticker | quote | full, for contracts (full carries bid and ask)"
    )
    feed_max_connections: int = Field(default=MAX_CONNECTIONS, ge=1, le=MAX_CONNECTIONS)
    feed_max_instruments_per_connection: int = Field(
        default=MAX_INSTRUMENTS_PER_CONNECTION, ge=1, le=MAX_INSTRUMENTS_PER_CONNECTION
    )
    feed_instrument_stale_seconds: float = Field(
        default=15.0,
        gt=0,
        description="no tick of a subscribed instrument this long (market open) → FeedStale",
    )
    feed_connection_stale_seconds: float = Field(
        default=5.0, gt=0, description="no frame on a connection this long → FeedStale for the connection"
    )
    feed_watchdog_interval_seconds: float = Field(default=1.0, gt=0)
    feed_backoff_initial_seconds: float = Field(default=0.05, ge=0)
    feed_backoff_max_seconds: float = Field(default=30.0, gt=0)
    feed_backoff_jitter: float = Field(default=0.5, ge=0, le=1)
    feed_reconnect_max_attempts: int = Field(default=0, ge=0, description="0: retry without an attempt cap")
    feed_reconnect_max_elapsed_seconds: float = Field(
        default=0.0, ge=0, description="give up after failing this long without a good session (0: never)"
    )
    feed_cool_off_seconds: float = Field(
        default=60.0, ge=0, description="minimum wait after 805 (too many connections) or HTTP 429"
    )
    feed_handshake_timeout_seconds: float = Field(default=5.0, gt=0)
    feed_auth_retry_initial_seconds: float = Field(
        default=5.0, gt=0, description="first retry after Dhan refused the credentials (806-810, HTTP 401)"
    )
    feed_auth_retry_max_seconds: float = Field(
        default=30.0, gt=0, description="retries while waiting for valid credentials slow down to this"
    )
    feed_auth_confirm_seconds: float = Field(
        default=5.0,
        gt=0,
        description="after a refusal, a socket open this long without one (or with data) ends the waiting",
    )
    dhan_access_token_file: Path | None = Field(
        default=None,
        description=(
            "a file holding the access token (first line); read at every connection attempt, so a "
            "renewed token is picked up without a restart; unset: SARATHI_DHAN_ACCESS_TOKEN"
        ),
        json_schema_extra={"read_only": True},  # an input: needs no writable volume
    )
    feed_recorder_enabled: bool = True
    feed_recorder_directory: Path = Path(".run/recording")  # shared with signals and execution
    feed_recorder_flush_interval_seconds: float = Field(default=1.0, gt=0)

    @field_validator("feed_index_mode", "feed_contract_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value.lower() not in _MODES:
            raise ValueError(f"mode {value!r}: expected one of {sorted(_MODES)}")
        return value.lower()

    @field_validator("feed_indices")
    @classmethod
    def _valid_indices(cls, value: str) -> str:
        parse_instruments(value)
        return value

    @property
    def indices(self) -> tuple[FeedInstrument, ...]:
        return parse_instruments(self.feed_indices)

    @property
    def index_mode(self) -> FeedMode:
        return _MODES[self.feed_index_mode]

    @property
    def contract_mode(self) -> FeedMode:
        return _MODES[self.feed_contract_mode]
