"""Settings of the execution service (environment variables, documented defaults)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from sarathi.common.settings import ServiceSettings


class ExecutionSettings(ServiceSettings):
    http_port: int = Field(
        default=8603,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("SARATHI_EXECUTION_HTTP_PORT", "http_port"),
    )
