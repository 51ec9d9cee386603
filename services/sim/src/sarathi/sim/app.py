"""Composition root of the sim service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.sim.settings import SimSettings


def build_app(settings: SimSettings) -> FastAPI:
    app, _ = build_service_app(
        service="sim",
        settings=settings,
        database=False,
        description="A local Dhan v2: REST, feed and order-update WebSockets, market model, paper broker.",
    )
    return app
