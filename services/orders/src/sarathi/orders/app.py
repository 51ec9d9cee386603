"""Composition root of the orders service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from fastapi import FastAPI

from sarathi.common.runtime import build_service_app
from sarathi.orders.settings import OrdersSettings


def build_app(settings: OrdersSettings) -> FastAPI:
    app, _ = build_service_app(
        service="orders",
        settings=settings,
        database=True,
        description="The broker gateway: exactly-once orders, order updates, reconciliation.",
    )
    return app
