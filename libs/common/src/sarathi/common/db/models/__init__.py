"""Sarathi's table models, one module per owning schema.

Importing this package registers every table on `SarathiTable.metadata` (see `all_metadata`),
which is what Alembic's autogenerate compares against the database.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from sarathi.common.db.base import SarathiTable
from sarathi.common.db.models.execution import Decision, DecisionOutcome
from sarathi.common.db.models.orders import Fill, Order
from sarathi.common.db.models.refdata import Derivative, Instrument, OptionTypeCode, SyncRun, SyncStatus
from sarathi.common.db.models.risk import AuditLog, PositionStatus, PositionTracker
from sarathi.common.db.models.signals import Signal


def all_metadata() -> MetaData:
    """The MetaData holding every Sarathi table (all model modules are imported by now)."""
    return SarathiTable.metadata


__all__ = [
    "AuditLog",
    "Decision",
    "DecisionOutcome",
    "Derivative",
    "Fill",
    "Instrument",
    "OptionTypeCode",
    "Order",
    "PositionStatus",
    "PositionTracker",
    "Signal",
    "SyncRun",
    "SyncStatus",
    "all_metadata",
]
