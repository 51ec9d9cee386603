"""Composition root of the signals service: builds everything from settings, connects nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sarathi.common.clock_source import rate_limit_pacing, running_clock
from sarathi.common.dhan.replies import ReplyRecorder
from sarathi.common.dhan.rest import DhanRest
from sarathi.common.dhan.token_share import following_token
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.web import NotReadyError
from sarathi.signals.adapters.store import SignalStore
from sarathi.signals.metrics import SignalsMetrics
from sarathi.signals.settings import SignalsSettings
from sarathi.signals.worker import SignalsWorker


def build_app(settings: SignalsSettings) -> FastAPI:
    metrics = SignalsMetrics()
    holder: dict[str, SignalsWorker] = {}

    @asynccontextmanager
    async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
        async with running_clock(settings.mode, infrastructure.bus, service="signals") as clock:
            directory = settings.recorder_directory
            recorder = None
            if directory is not None:  # the warm-up history it reads, for the backtest
                recorder = ReplyRecorder(
                    directory, "signals", clock.now, on_error=metrics.recorder_errors.inc
                )
            rest = DhanRest(
                client_id=settings.dhan_client_id,
                access_token=settings.dhan_access_token,
                base_url=settings.dhan_rest_url,
                pacing=rate_limit_pacing(settings.mode, clock),
                recorder=recorder,
            )
            worker = SignalsWorker(
                settings,
                bus=infrastructure.bus,
                clock=clock,
                calendar=MarketCalendar(),
                rest=rest,
                store=SignalStore(infrastructure.engine),
                metrics=metrics,
            )
            sharing = following_token(
                infrastructure.bus,
                settings.shared_token_key(),
                clock,
                rest.set_access_token,
                tasks=worker.tasks,
            )
            async with sharing:
                await worker.start()
                holder["worker"] = worker
                try:
                    yield
                finally:
                    holder.clear()
                    await worker.stop()

    async def warmed_up() -> None:
        worker = holder.get("worker")
        if worker is None:
            raise NotReadyError("signals has not started")
        await worker.ready()

    app, _ = build_service_app(
        service="signals",
        settings=settings,
        database=True,
        metrics=metrics,
        workers=workers,
        checks={"signals": warmed_up},
        description="5-minute bars from index ticks, indicators, and the trend signal.",
    )
    return app
