"""The day's instruments as a CSV beside the day's recording, for the backtest to replay with.

When execution records (`SARATHI_EXECUTION_RECORDER_DIRECTORY`), the index options it stored in
`refdata.derivative` are written to `instruments-YYYYMMDD.csv` (the IST market day of the sync,
by the Clock) after each successful sync, and at start when today's sync had already succeeded
(the simulated day syncs before execution starts). Written to a temporary file and renamed, so
a reader never sees half a file.

    security_id,underlying,expiry,strike,option_type,lot_size,tick_size,freeze_qty

`expiry` ISO, `option_type` CE or PE (our `OptionType` values, as Dhan's master spells them),
`freeze_qty` empty when the master gives none. The exchange segment is no column: an
underlying's options trade on its F&O segment (`UnderlyingSpec.fno_segment`), which the reader
puts back.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from sarathi.common.dhan.recording import RecordingError
from sarathi.common.domain.instruments import Underlying
from sarathi.execution.adapters.derivatives import ListedContract, to_listed
from sarathi.execution.refdata import store

COLUMNS = (
    "security_id",
    "underlying",
    "expiry",
    "strike",
    "option_type",
    "lot_size",
    "tick_size",
    "freeze_qty",
)


def instruments_path(directory: Path, day: date) -> Path:
    return directory / f"instruments-{day:%Y%m%d}.csv"


def write_instruments(directory: Path, day: date, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write `refdata.derivative` rows (column mappings) as the day's file; its path."""
    ordered = sorted(
        rows, key=lambda r: (r["underlying"], r["expiry"], r["strike"], r["option_type"], r["security_id"])
    )
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in ordered:
        freeze = row["freeze_quantity"]
        writer.writerow((
            row["security_id"], row["underlying"], row["expiry"].isoformat(), row["strike"],
            row["option_type"], row["lot_size"], row["tick_size"], "" if freeze is None else freeze,
        ))  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    path = instruments_path(directory, day)
    partial = path.with_name(f".{path.name}.tmp")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        stream.write(text.getvalue())
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)
    return path


def record_instruments(engine: Engine, directory: Path, day: date) -> Path:
    """The index options the table holds now, written as the day's file (blocking)."""
    return write_instruments(directory, day, store.options(engine))


def read_instruments(directory: Path, day: date) -> list[ListedContract]:
    """The contracts of the day's file, as the Derivative table would give them; a malformed
    line raises `RecordingError` naming file and line."""
    path = instruments_path(directory, day)
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise RecordingError(f"{path}: header {reader.fieldnames} is not {','.join(COLUMNS)}")
        listed = []
        for row in reader:
            try:
                listed.append(_listed(row))
            except (ValueError, InvalidOperation, TypeError) as exc:
                raise RecordingError(f"{path}: line {reader.line_num}: {exc!r}") from None
    return listed


def _listed(row: Mapping[str, str]) -> ListedContract:
    underlying = Underlying(row["underlying"])
    freeze = row["freeze_qty"]
    return to_listed({
        "security_id": row["security_id"], "exchange_segment": underlying.spec.fno_segment.wire,
        "underlying": underlying.value, "expiry": date.fromisoformat(row["expiry"]),
        "strike": Decimal(row["strike"]), "option_type": row["option_type"], "lot_size": int(row["lot_size"]),
        "tick_size": Decimal(row["tick_size"]), "freeze_quantity": int(freeze) if freeze else None,
    })  # fmt: skip
