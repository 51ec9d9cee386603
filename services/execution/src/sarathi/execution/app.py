"""Composition root of the execution service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.execution.settings import ExecutionSettings


def build_app(settings: ExecutionSettings) -> FastAPI:
    app, _ = build_service_app(
        service="execution",
        settings=settings,
        database=True,
        description="Strike selection, pre-trade gates and Super Order entry commands.",
    )
    return app
