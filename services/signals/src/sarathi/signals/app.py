"""Composition root of the signals service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.signals.settings import SignalsSettings


def build_app(settings: SignalsSettings) -> FastAPI:
    app, _ = build_service_app(
        service="signals",
        settings=settings,
        database=True,
        description="5-minute bars from index ticks, indicators, and the trend signal.",
    )
    return app
