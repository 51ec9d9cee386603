"""The Derivative table (schema `refdata`), read-only, with a short in-memory cache.

The table changes once a day (the instrument sync before the open); a lookup per signal would
cost a database round trip on the hot path, so the contracts of one (underlying, expiry) and the
expiry list of an underlying are kept for `cache_seconds` of monotonic time. The cache is what
the hot path reads; the table stays the authority (a new sync is seen within `cache_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.db.base import SarathiTable, Schema
from sarathi.common.db.models.refdata import Derivative
from sarathi.common.domain.instruments import Contract, ExchangeSegment, OptionType, SecurityId, Underlying


@dataclass(frozen=True, slots=True)
class ListedContract:
    """A Derivative row: the contract and its exchange freeze quantity (None if unpublished)."""

    contract: Contract
    freeze_quantity: int | None


class DerivativeLookup(Protocol):
    async def expiries(self, underlying: Underlying) -> list[date]: ...

    async def contract(
        self, underlying: Underlying, expiry: date, security_id: str
    ) -> ListedContract | None: ...

    async def by_security_id(self, underlying: Underlying, security_id: str) -> ListedContract | None: ...


_TABLE = SarathiTable.metadata.tables[f"{Schema.REFDATA.value}.{Derivative.__tablename__}"]


def to_listed(row: Any) -> ListedContract:
    """A `refdata.derivative` row (as a column mapping) as a domain contract."""
    contract = Contract(
        security_id=SecurityId(row["security_id"]),
        segment=ExchangeSegment.from_wire(row["exchange_segment"]),
        underlying=Underlying(row["underlying"]), expiry=row["expiry"], strike=row["strike"],
        option_type=OptionType(row["option_type"]), lot_size=row["lot_size"], tick_size=row["tick_size"],
    )  # fmt: skip
    return ListedContract(contract, row["freeze_quantity"])


class DerivativeTable:
    def __init__(
        self, engine: AsyncEngine, *, cache_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._ttl = cache_seconds
        self._monotonic = monotonic
        self._expiries: dict[Underlying, tuple[float, list[date]]] = {}
        self._contracts: dict[tuple[Underlying, date], tuple[float, dict[str, ListedContract]]] = {}

    def _fresh(self, loaded_at: float) -> bool:
        return self._monotonic() - loaded_at < self._ttl

    def forget(self) -> None:
        """Drop the cache (the instrument sync just changed the table)."""
        self._expiries.clear()
        self._contracts.clear()

    async def expiries(self, underlying: Underlying) -> list[date]:
        cached = self._expiries.get(underlying)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        table = _TABLE
        statement = select(table.c.expiry).where(table.c.underlying == underlying.value).distinct()
        async with self._engine.connect() as connection:
            found = sorted((await connection.execute(statement)).scalars().all())
        self._expiries[underlying] = (self._monotonic(), found)
        return found

    async def _of_expiry(self, underlying: Underlying, expiry: date) -> dict[str, ListedContract]:
        key = (underlying, expiry)
        cached = self._contracts.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        table = _TABLE
        statement = select(table).where(table.c.underlying == underlying.value, table.c.expiry == expiry)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        listed: dict[str, ListedContract] = {}
        for row in rows:
            found = to_listed(row)
            listed[found.contract.security_id] = found
        self._contracts[key] = (self._monotonic(), listed)
        return listed

    async def contract(self, underlying: Underlying, expiry: date, security_id: str) -> ListedContract | None:
        """The row of `security_id` among the contracts of (underlying, expiry), if listed."""
        return (await self._of_expiry(underlying, expiry)).get(security_id)

    async def by_security_id(self, underlying: Underlying, security_id: str) -> ListedContract | None:
        """The contract of a held position (ids are recycled after expiry: the latest expiry wins)."""
        for expiry in reversed(await self.expiries(underlying)):
            found = await self.contract(underlying, expiry, security_id)
            if found is not None:
                return found
        return None


class ListedContracts:
    """The Derivative table in memory, answering as `DerivativeTable` does: a backtest's recorded
    instruments (`sarathi backtest --recording`), the service tests' tables."""

    def __init__(self, contracts: Iterable[ListedContract] = ()) -> None:
        self._by_id: dict[str, list[ListedContract]] = {}
        for listed in contracts:
            self.add(listed)

    def add(self, listed: ListedContract) -> None:
        self._by_id.setdefault(listed.contract.security_id, []).append(listed)

    def clear(self) -> None:
        self._by_id.clear()

    def listed(self, security_id: str) -> ListedContract | None:
        """The contract of an id (ids are recycled after expiry: the latest expiry wins)."""
        found = self._by_id.get(security_id)
        return max(found, key=lambda listed: listed.contract.expiry) if found else None

    async def expiries(self, underlying: Underlying) -> list[date]:
        return sorted(
            {
                listed.contract.expiry
                for rows in self._by_id.values()
                for listed in rows
                if listed.contract.underlying is underlying
            }
        )

    async def contract(self, underlying: Underlying, expiry: date, security_id: str) -> ListedContract | None:
        rows = self._by_id.get(security_id, [])
        return next(
            (r for r in rows if r.contract.underlying is underlying and r.contract.expiry == expiry), None
        )

    async def by_security_id(self, underlying: Underlying, security_id: str) -> ListedContract | None:
        rows = [r for r in self._by_id.get(security_id, []) if r.contract.underlying is underlying]
        return max(rows, key=lambda r: r.contract.expiry) if rows else None
