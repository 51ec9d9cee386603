"""One instrument sync: download → parse and validate → swap in one transaction → report.

Blocking (urllib, the synchronous engine): the service runs it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine

from sarathi.common.domain.calendar import IST
from sarathi.execution.refdata import store
from sarathi.execution.refdata.download import DownloadError, Progress, fetch
from sarathi.execution.refdata.master import MasterRejectedError, parse_master


@dataclass(frozen=True)
class SyncReport:
    ok: bool
    message: str
    instrument_rows: int = 0
    derivative_rows: int = 0
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SyncOptions:
    source: str
    min_option_rows: int = 20
    max_shrink_ratio: Decimal = Decimal("0.5")


def run_sync(engine: Engine, options: SyncOptions, now: datetime, progress: Progress) -> SyncReport:
    """Sync once; a bad or unreachable file leaves the tables as they were and says why."""
    run_id = store.start_run(engine, options.source, now)
    try:
        data = fetch(options.source, progress)
        text = data.decode("utf-8-sig")
        parsed = parse_master(
            io.StringIO(text, newline=""), now.astimezone(IST).date(), min_option_rows=options.min_option_rows
        )
        progress(f"parse: {parsed.rows_read} rows read, {len(parsed.instruments)} indices, "
                 f"{len(parsed.derivatives)} index options kept")  # fmt: skip
        changes = store.swap(engine, run_id, parsed, now, progress, max_shrink_ratio=options.max_shrink_ratio)
    except (DownloadError, MasterRejectedError, UnicodeDecodeError) as exc:
        reason = f"rejected, old tables kept: {exc}"
        store.fail_run(engine, run_id, reason, now)
        return SyncReport(False, reason)
    for line in changes.lines():
        progress(f"change: {line}")
    summary = (
        f"synced {len(parsed.instruments)} indices and {len(parsed.derivatives)} index options "
        f"from {options.source}"
    )
    return SyncReport(True, summary, len(parsed.instruments), len(parsed.derivatives), changes.lines())
