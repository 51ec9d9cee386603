"""Composition root of the execution service: builds everything from settings, connects nothing at import.

`/readyz` adds the check `execution`: the instrument-sync task alive and today's expiries listed
for every configured underlying (`readiness.InstrumentsReady`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sarathi.common.clock_source import rate_limit_pacing, running_clock
from sarathi.common.dhan.replies import ReplyRecorder
from sarathi.common.dhan.rest import DhanRest
from sarathi.common.dhan.token_share import following_token
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError, ReadinessCheck
from sarathi.execution.adapters.book_store import BookStore
from sarathi.execution.adapters.chain_cache import ChainCache, DhanChainSource
from sarathi.execution.adapters.control import ControlWatch
from sarathi.execution.adapters.decisions import DecisionStore
from sarathi.execution.adapters.derivatives import DerivativeTable
from sarathi.execution.adapters.prices import FeedPrices
from sarathi.execution.api import build_router
from sarathi.execution.decide import EntryDecider, Rules
from sarathi.execution.metrics import ExecutionMetrics
from sarathi.execution.readiness import InstrumentsReady
from sarathi.execution.refdata.daily import daily_sync
from sarathi.execution.refdata.sync import SyncReport
from sarathi.execution.service import ExecutionService
from sarathi.execution.settings import ExecutionSettings


def rules_of(settings: ExecutionSettings) -> Rules:
    return Rules(
        strikes=settings.strike_rules(), gates=settings.gate_rules(), sizing=settings.sizing_rules(),
        expiry_policy=settings.expiry_day_policy, expiry_cutoff=settings.expiry_roll_cutoff,
    )  # fmt: skip


def build_app(settings: ExecutionSettings) -> FastAPI:
    metrics = ExecutionMetrics()
    state: dict[str, DecisionStore] = {}
    readiness: list[ReadinessCheck] = []  # while running: its tasks alive, its instruments listed

    @asynccontextmanager
    async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
        bus = infrastructure.bus
        calendar = MarketCalendar()
        async with (
            running_clock(settings.mode, bus, service="execution") as clock,
            contextlib.AsyncExitStack() as stack,
        ):
            directory = settings.recorder_directory
            recorder = None
            if directory is not None:  # the option chains it reads, for the backtest
                recorder = ReplyRecorder(
                    directory, "execution", clock.now, on_error=metrics.recorder_errors.inc
                )
            rest = DhanRest(
                client_id=settings.dhan_client_id, access_token=settings.dhan_access_token,
                base_url=settings.dhan_rest_url, pacing=rate_limit_pacing(settings.mode, clock),
                recorder=recorder,
            )  # fmt: skip
            tasks = BackgroundTasks("execution")
            await stack.enter_async_context(  # the shared Dhan token: orders renews it
                following_token(bus, settings.shared_token_key(), clock, rest.set_access_token, tasks=tasks)
            )
            derivatives = DerivativeTable(infrastructure.engine, cache_seconds=settings.refdata_cache_seconds)
            chains = ChainCache(
                DhanChainSource(rest), clock, max_age_seconds=settings.chain_max_age_seconds,
                on_lookup=metrics.chain_lookup,
            )  # fmt: skip
            control = ControlWatch(bus, require_reconciliation=settings.require_reconciliation)
            prices = FeedPrices(bus, clock, timeout_seconds=settings.snapshot_timeout_seconds)
            decider = EntryDecider(
                rules_of(settings), calendar=calendar, chains=chains, derivatives=derivatives,
                latest_ticks=prices.latest, trading_state=control.state, loss_budget=control.loss_budget,
            )  # fmt: skip
            decisions = DecisionStore(infrastructure.engine)
            service = ExecutionService(
                bus=bus, clock=clock, decider=decider, derivatives=derivatives, decisions=decisions,
                books=BookStore(bus), metrics=metrics, pending_ttl_seconds=settings.pending_entry_ttl_seconds,
            )  # fmt: skip
            instruments = InstrumentsReady(
                derivatives, clock, settings.underlyings,
                settings.expiry_day_policy, settings.expiry_roll_cutoff,
            )  # fmt: skip

            def synced(report: SyncReport) -> None:
                instruments.synced(report)
                if report.ok:
                    derivatives.forget()

            await control.start()
            await service.start()
            state["decisions"] = decisions
            tasks.start("instrument-sync", daily_sync(settings, clock, metrics, synced))
            readiness.extend((tasks.ready, instruments.ready))
            try:
                yield
            finally:
                readiness.clear()
                await tasks.stop()
                state.clear()
                await service.stop()
                await control.stop()

    async def working() -> None:
        if not readiness:
            raise NotReadyError("execution has not started")
        for check in readiness:
            await check()

    app, _ = build_service_app(
        service="execution",
        settings=settings,
        database=True,
        metrics=metrics,
        workers=workers,
        checks={"execution": working},
        description="Strike selection, pre-trade gates and Super Order entry commands.",
    )
    app.include_router(build_router(lambda: state.get("decisions"), settings.decisions_page_max))
    return app
