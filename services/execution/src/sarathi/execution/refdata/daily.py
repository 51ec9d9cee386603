"""The service's daily instrument sync: at start if today's has not succeeded, then daily at
`instrument_sync_at` IST (before the open), on the service's Clock. Progress goes to the log;
each run's report also to `on_report`. With `recorder_directory` set, the day's instruments are
also written there (`snapshot`) after each successful sync, and at start when today's is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from sarathi.common.clock import Clock
from sarathi.common.db.engine import create_engine
from sarathi.common.domain.calendar import IST
from sarathi.common.logging import get_logger
from sarathi.execution.metrics import ExecutionMetrics
from sarathi.execution.refdata import snapshot, store
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

    def once(now: datetime) -> SyncReport:
        return run_sync(engine, options, now, lambda line: log.info("instrument_sync_progress", line=line))

    async def record(now: datetime) -> None:
        if settings.recorder_directory is None:
            return
        day = now.astimezone(IST).date()
        try:
            path = await asyncio.to_thread(
                snapshot.record_instruments, engine, settings.recorder_directory, day
            )
        except (OSError, SQLAlchemyError) as exc:  # a recording never stops the service
            metrics.recorder_errors.inc()
            log.error("instruments_recording_failed", error=repr(exc))
        else:
            log.info("instruments_recorded", path=str(path))

    try:
        synced_today = False
        if settings.instrument_sync_on_start or settings.recorder_directory is not None:
            last = await asyncio.to_thread(store.last_success, engine)
            today = clock.now().astimezone(IST).date()
            synced_today = last is not None and last.astimezone(IST).date() == today
        if synced_today:
            await record(clock.now())
        due = (
            clock.now()
            if settings.instrument_sync_on_start and not synced_today
            else _next_run(clock.now(), settings)
        )
        while True:
            await clock.sleep_until(due)
            started = clock.now()
            try:
                report = await asyncio.to_thread(once, started)
            except Exception as exc:  # the database was unreachable: try again later, keep serving
                log.error("instrument_sync_error", error=str(exc))
                report = SyncReport(False, str(exc))
            metrics.instrument_sync.labels("ok" if report.ok else "failed").inc()
            log.info("instrument_sync", ok=report.ok, message=report.message, changes=report.changes)
            if report.ok:
                await record(started)
            on_report(report)
            due = _next_run(clock.now(), settings) if report.ok else clock.now() + _RETRY
    finally:
        engine.dispose()
