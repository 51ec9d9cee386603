"""Composition root of the risk service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.risk.settings import RiskSettings


def build_app(settings: RiskSettings) -> FastAPI:
    app, _ = build_service_app(
        service="risk",
        settings=settings,
        database=True,
        description="Per-position P&L, trailing profit lock, daily limits, square-off and the operator API.",
    )
    return app
