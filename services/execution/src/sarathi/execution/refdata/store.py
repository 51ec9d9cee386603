"""Swap the reference tables in one transaction, and report what changed against the old ones.

`refdata.sync_run` records every run: RUNNING when it starts (own transaction), then SUCCEEDED in
the same transaction as the swap, or FAILED with the reason. The swap refuses a file that would
shrink the option table below `max_shrink_ratio` of its old size (a truncated download).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from sarathi.common.db.base import SarathiTable
from sarathi.common.db.models.refdata import SyncStatus
from sarathi.execution.refdata.download import Progress
from sarathi.execution.refdata.master import MasterRejectedError, ParsedMaster

_BATCH = 2000
_DERIVATIVE = SarathiTable.metadata.tables["refdata.derivative"]
_INSTRUMENT = SarathiTable.metadata.tables["refdata.instrument"]
_SYNC_RUN = SarathiTable.metadata.tables["refdata.sync_run"]


@dataclass
class Changes:
    """What a sync changed: lot sizes and expiries per underlying (empty lists when none)."""

    lot_sizes: list[str] = field(default_factory=list)
    expiries_added: list[str] = field(default_factory=list)
    expiries_removed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [*self.lot_sizes, *self.expiries_added, *self.expiries_removed]


def _lots_and_expiries(rows: Sequence[Any]) -> tuple[dict[str, set[int]], dict[str, set[date]]]:
    lots: dict[str, set[int]] = {}
    expiries: dict[str, set[date]] = {}
    for row in rows:
        lots.setdefault(row["underlying"], set()).add(row["lot_size"])
        expiries.setdefault(row["underlying"], set()).add(row["expiry"])
    return lots, expiries


def compare(old: Sequence[Any], new: Sequence[Any]) -> Changes:
    old_lots, old_expiries = _lots_and_expiries(old)
    new_lots, new_expiries = _lots_and_expiries(new)
    changes = Changes()
    for underlying in sorted(set(old_lots) | set(new_lots)):
        before, after = old_lots.get(underlying, set()), new_lots.get(underlying, set())
        if before and before != after:
            changes.lot_sizes.append(f"lot size {underlying}: {sorted(before)} → {sorted(after)}")
        added = sorted(new_expiries.get(underlying, set()) - old_expiries.get(underlying, set()))
        removed = sorted(old_expiries.get(underlying, set()) - new_expiries.get(underlying, set()))
        if added and old_expiries.get(underlying):
            changes.expiries_added.append(f"expiries added {underlying}: {', '.join(map(str, added))}")
        if removed:
            changes.expiries_removed.append(f"expiries removed {underlying}: {', '.join(map(str, removed))}")
    return changes


def start_run(engine: Engine, source: str, now: datetime) -> int:
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(_SYNC_RUN).values(started_at=now, status=SyncStatus.RUNNING.value, source=source)
            .returning(_SYNC_RUN.c.id)
        ).scalar_one()  # fmt: skip
    return int(run_id)


def fail_run(engine: Engine, run_id: int, reason: str, now: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_SYNC_RUN).where(_SYNC_RUN.c.id == run_id)
            .values(status=SyncStatus.FAILED.value, finished_at=now, message=reason[:4000])
        )  # fmt: skip


def _insert(
    connection: Connection, table: Any, rows: list[dict[str, Any]], what: str, progress: Progress
) -> None:
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(table), rows[start : start + _BATCH])
        progress(f"load: {what} {min(start + _BATCH, len(rows))}/{len(rows)}")


def swap(
    engine: Engine,
    run_id: int,
    parsed: ParsedMaster,
    now: datetime,
    progress: Progress,
    *,
    max_shrink_ratio: Decimal,
) -> Changes:
    """Replace both tables and mark the run SUCCEEDED, all in one transaction (or none of it)."""
    columns = (_DERIVATIVE.c.underlying, _DERIVATIVE.c.lot_size, _DERIVATIVE.c.expiry)
    with engine.begin() as connection:
        connection.execute(select(func.pg_advisory_xact_lock(0x5A_7A_5E_7C)))  # one sync at a time
        old = connection.execute(select(*columns)).mappings().all()
        floor = int(len(old) * max_shrink_ratio)
        if len(parsed.derivatives) < floor:
            raise MasterRejectedError(
                f"the file lists {len(parsed.derivatives)} index options, fewer than {floor} "
                f"({max_shrink_ratio} of the {len(old)} in the table): truncated?"
            )
        changes = compare(old, parsed.derivatives)
        connection.execute(delete(_DERIVATIVE))
        connection.execute(delete(_INSTRUMENT))
        _insert(
            connection,
            _INSTRUMENT,
            [{**r, "synced_at": now} for r in parsed.instruments],
            "instruments",
            progress,
        )
        _insert(
            connection,
            _DERIVATIVE,
            [{**r, "synced_at": now} for r in parsed.derivatives],
            "derivatives",
            progress,
        )
        message = "; ".join(changes.lines()) or "no lot-size or expiry changes"
        connection.execute(
            update(_SYNC_RUN).where(_SYNC_RUN.c.id == run_id).values(
                status=SyncStatus.SUCCEEDED.value, finished_at=now, instrument_rows=len(parsed.instruments),
                derivative_rows=len(parsed.derivatives), message=message,
            )
        )  # fmt: skip
    return changes


def last_success(engine: Engine) -> datetime | None:
    with engine.connect() as connection:
        return connection.execute(
            select(func.max(_SYNC_RUN.c.started_at)).where(_SYNC_RUN.c.status == SyncStatus.SUCCEEDED.value)
        ).scalar_one_or_none()


def options(engine: Engine) -> list[Any]:
    """Every row of `refdata.derivative` (column mappings)."""
    with engine.connect() as connection:
        return list(connection.execute(select(_DERIVATIVE)).mappings().all())
