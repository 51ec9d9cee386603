"""Settings of the signals service (environment variables, documented defaults)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from sarathi.common.settings import ServiceSettings


class SignalsSettings(ServiceSettings):
    http_port: int = Field(
        default=8602, ge=1, le=65535, validation_alias=AliasChoices("SARATHI_SIGNALS_HTTP_PORT", "http_port")
    )
