"""Contract names for the operator's views, from the Derivative table (schema `refdata`, read only).

A position is known to risk by its contract's segment and security id; the operator reads
`NIFTY 24200 CE 22-Sep`. Dhan recycles security ids after expiry, so the row whose expiry is the
earliest on or after the day the position opened is the one meant. Names found are cached (a
contract does not change); one not found, or a lookup that fails, is asked again next time.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.db.base import SarathiTable, Schema
from sarathi.common.db.models.refdata import Derivative
from sarathi.common.domain.instruments import (
    Contract,
    ContractKey,
    OptionType,
    SecurityId,
    Underlying,
)
from sarathi.common.logging import get_logger

log = get_logger(__name__)
_TABLE = SarathiTable.metadata.tables[f"{Schema.REFDATA.value}.{Derivative.__tablename__}"]


class ContractNames(Protocol):
    async def contract(self, held: ContractKey, opened_on: date) -> Contract | None:
        """The contract of `held` as listed on `opened_on` (None if unknown)."""
        ...


class NoNames:
    """No reference data (unit tests): every name is unknown."""

    async def contract(self, held: ContractKey, opened_on: date) -> Contract | None:
        return None


class DerivativeNames:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cache: dict[tuple[ContractKey, date], Contract] = {}

    async def contract(self, held: ContractKey, opened_on: date) -> Contract | None:
        key = (held, opened_on)
        if key in self._cache:
            return self._cache[key]
        table = _TABLE
        query = (
            select(table)
            .where(
                table.c.exchange_segment == held.segment.wire,
                table.c.security_id == held.security_id,
                table.c.expiry >= opened_on,
            )
            .order_by(table.c.expiry)
            .limit(1)
        )
        try:
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).mappings().first()
        except Exception as exc:  # a name is a nicety: the view shows the ids instead
            log.warning("contract_name_lookup_failed", security_id=held.security_id, error=repr(exc))
            return None
        if row is None:
            return None
        found = Contract(
            security_id=SecurityId(row["security_id"]),
            segment=held.segment,
            underlying=Underlying(row["underlying"]),
            expiry=row["expiry"],
            strike=row["strike"],
            option_type=OptionType(row["option_type"]),
            lot_size=row["lot_size"],
            tick_size=row["tick_size"],
        )
        self._cache[key] = found
        return found
