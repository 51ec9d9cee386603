"""The service's daily instrument sync: at start if today's has not succeeded, then daily at
`instrument_sync_at` IST (before the open), on the service's Clock. Progress goes to the log;
each run's report also to `on_report`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sarathi.common.clock import Clock
from sarathi.common.db.engine import create_engine
from sarathi.common.domain.calendar import IST
from sarathi.common.logging import get_logger
from sarathi.execution.metrics import ExecutionMetrics
from sarathi.execution.refdata import store
from sarathi.execution.refdata.sync import SyncOptions, SyncReport, run_sync
from sarathi.execution.settings import ExecutionSettings

log = get_logger(__name__)
_RETRY = timedelta(minutes=5)


def _next_run(now: datetime, settings: ExecutionSettings) -> datetime:
    local = now.astimezone(IST)
    at = datetime.combine(local.date(), settings.instrument_sync_at, IST)
    return at if at > local else at + timedelta(days=1)


async def daily_sync(
    settings: ExecutionSettings,
    clock: Clock,
    metrics: ExecutionMetrics,
    on_report: Callable[[SyncReport], None] = lambda _: None,
) -> None:
    engine = create_engine(settings)
    options = SyncOptions(
        settings.instrument_master_url,
        settings.instrument_min_option_rows,
        settings.instrument_max_shrink_ratio,
    )

    def once() -> SyncReport:
        return run_sync(
            engine, options, clock.now(), lambda line: log.info("instrument_sync_progress", line=line)
        )

    try:
        due = clock.now()
        if settings.instrument_sync_on_start:
            last = await asyncio.to_thread(store.last_success, engine)
            if last is not None and last.astimezone(IST).date() == clock.now().astimezone(IST).date():
                due = _next_run(clock.now(), settings)
        else:
            due = _next_run(clock.now(), settings)
        while True:
            await clock.sleep_until(due)
            try:
                report = await asyncio.to_thread(once)
            except Exception as exc:  # the database was unreachable: try again later, keep serving
                log.error("instrument_sync_error", error=str(exc))
                report = SyncReport(False, str(exc))
            metrics.instrument_sync.labels("ok" if report.ok else "failed").inc()
            log.info("instrument_sync", ok=report.ok, message=report.message, changes=report.changes)
            on_report(report)
            due = _next_run(clock.now(), settings) if report.ok else clock.now() + _RETRY
    finally:
        engine.dispose()
