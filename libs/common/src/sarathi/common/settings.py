"""Settings shared by every service, read from the environment (pydantic-settings).

Every setting has a documented default so a service starts with no configuration in `sim` mode.
Variables are prefixed `SARATHI_`, except the two infrastructure URLs, which also answer to the
conventional `NATS_URL` and `DATABASE_URL`. Settings are frozen; an unknown `SARATHI_` key in a
`.env` file is refused rather than silently ignored; secrets are `SecretStr` and never printed.
"""

from __future__ import annotations

import base64
import hashlib
from enum import StrEnum
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    """Where prices come from and where orders go (ARCHITECTURE §1)."""

    SIM = "sim"
    PAPER = "paper"
    LIVE = "live"


LIVE_ARMING_WORD = "armed"
SIM_ACCESS_TOKEN = "sim-token"  # noqa: S105 - the sim emulator's well-known token, not a credential
SIM_TOKEN_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"sarathi sim token key").digest()).decode()
"""The shared-token key in sim mode when none is set: well known, like the sim's token (not a secret)."""


class SarathiSettings(BaseSettings):
    """Base class: every service's settings extend this one."""

    model_config = SettingsConfigDict(
        env_prefix="SARATHI_",
        frozen=True,
        extra="forbid",
        env_file=None,
        case_sensitive=False,
        populate_by_name=True,
    )

    mode: Mode = Mode.SIM
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("SARATHI_NATS_URL", "NATS_URL", "nats_url"),
    )
    database_url: str = Field(
        default="postgresql+psycopg://postgres@127.0.0.1:5432/sarathi",
        validation_alias=AliasChoices("SARATHI_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    http_host: str = "127.0.0.1"
    log_level: str = "INFO"

    # Dhan endpoints: in `sim` mode they point at the local sim service.
    dhan_client_id: str = "1000000001"
    dhan_access_token: SecretStr = SecretStr(SIM_ACCESS_TOKEN)
    dhan_rest_url: str = "http://127.0.0.1:8600/v2"
    dhan_feed_url: str = "ws://127.0.0.1:8600/feed"
    dhan_order_update_url: str = "ws://127.0.0.1:8600/order-update"
    live_trading: str = Field(default="", description=f"must be '{LIVE_ARMING_WORD}' for live mode")
    token_key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key sealing the shared Dhan token on NATS (sim mode: a well-known default)",
    )

    @model_validator(mode="after")
    def _live_needs_credentials_and_arming(self) -> Self:
        if self.mode is Mode.LIVE:
            token = self.dhan_access_token.get_secret_value()
            if not token or token == SIM_ACCESS_TOKEN or not self.dhan_client_id:
                raise ValueError("live mode needs SARATHI_DHAN_CLIENT_ID and SARATHI_DHAN_ACCESS_TOKEN")
            if self.live_trading != LIVE_ARMING_WORD:
                raise ValueError(
                    f"live mode needs SARATHI_LIVE_TRADING={LIVE_ARMING_WORD}; refusing to start"
                )
        return self

    @model_validator(mode="after")
    def _token_key_is_a_fernet_key(self) -> Self:
        key = self.token_key.get_secret_value()
        if key:
            try:
                raw = base64.urlsafe_b64decode(key.encode())
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    "SARATHI_TOKEN_KEY must be a Fernet key (32 url-safe base64 bytes), e.g. from python -c "
                    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
                )
        return self

    def shared_token_key(self) -> SecretStr | None:
        """The key of the shared Dhan token (`sarathi.common.dhan.token_share`); None: sharing off."""
        if self.token_key.get_secret_value():
            return self.token_key
        return SecretStr(SIM_TOKEN_KEY) if self.mode is Mode.SIM else None

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver named, whatever form it was given in."""
        url = self.database_url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


class ServiceSettings(SarathiSettings):
    """Settings of a service that serves HTTP: its port is fixed per service by default."""

    http_port: int = Field(default=8000, ge=1, le=65535)
