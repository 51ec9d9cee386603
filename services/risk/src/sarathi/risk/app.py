"""Composition root of the risk service: builds everything from settings, connects nothing at import.

The lifespan connects NATS and PostgreSQL (`build_service_app`), follows the clock of the mode
(the sim's market clock in `sim`), builds `RiskService` and runs it; the operator API is mounted
on the same app (behind the common `ControlGate`: bearer token first, bodies capped) and answers
503 until the service runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sarathi.common.clock_source import running_clock
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.web import NotReadyError
from sarathi.risk.adapters.refdata import DerivativeNames
from sarathi.risk.adapters.store import PostgresStore
from sarathi.risk.api import build_router
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.service import RiskService
from sarathi.risk.settings import RiskSettings


def build_app(settings: RiskSettings) -> FastAPI:
    metrics = RiskMetrics()
    holder: dict[str, RiskService] = {}

    @asynccontextmanager
    async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
        async with running_clock(settings.mode, infrastructure.bus, service="risk") as clock:
            engine = infrastructure.engine
            service = RiskService(
                settings,
                infrastructure.bus,
                clock,
                PostgresStore(engine),
                metrics,
                names=DerivativeNames(engine),
            )
            async with service.running():
                holder["service"] = service
                try:
                    yield
                finally:
                    holder.pop("service", None)

    async def working() -> None:
        service = holder.get("service")
        if service is None:
            raise NotReadyError("risk has not started")
        await service.ready()

    app, _ = build_service_app(
        service="risk",
        settings=settings,
        database=True,
        metrics=metrics,
        workers=workers,
        checks={"risk": working},
        control_token=settings.control_token,
        description="Per-position P&L, trailing profit lock, daily limits, square-off and the operator API.",
    )
    app.include_router(build_router(lambda: holder.get("service"), settings.control_operator))
    app.state.risk = holder
    return app
