"""The option chain through our Dhan adapter, cached per (underlying, expiry).

Dhan answers one unique chain request per 3 seconds (REFERENCE §8.4); `DhanRest` spaces every
chain call 3 s apart on its own limiter, and this cache makes most signals need no call at all:
a chain younger than `max_age_seconds` of market time is served from memory. Concurrent
requests for the same key share one fetch. A failed fetch raises `ChainUnavailableError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanError
from sarathi.common.dhan.replies import OPTION_CHAIN
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.domain.instruments import ExchangeSegment, Underlying
from sarathi.execution.adapters.dhan_chain import ChainSchemaError, parse_chain
from sarathi.execution.domain.chain import OptionChain


class ChainUnavailableError(RuntimeError):
    """The chain could not be fetched or parsed; the message says why."""


class ChainSource(Protocol):
    async def fetch(self, underlying: Underlying, expiry: date) -> Any:
        """Dhan's `/optionchain` JSON body for one underlying and expiry."""
        ...


class DhanChainSource:
    """`POST /optionchain` through the shared REST adapter (rate-limited, typed errors)."""

    def __init__(self, rest: DhanRest) -> None:
        self._rest = rest

    async def fetch(self, underlying: Underlying, expiry: date) -> Any:
        scrip = int(underlying.spec.security_id)
        segment = ExchangeSegment.IDX_I.wire
        return await self._rest.call(
            Category.OPTION_CHAIN,
            lambda sdk: sdk.option_chain(scrip, segment, expiry.isoformat()),
            changes_state=False,
            key=(underlying, expiry),  # Dhan limits each unique (underlying, expiry) to one per 3 s
            record=(OPTION_CHAIN, {"underlying": underlying.value, "expiry": expiry.isoformat()}),
        )


CacheListener = Callable[[bool], None]
"""Told whether a lookup was a hit (for a metric)."""


class ChainCache:
    def __init__(
        self,
        source: ChainSource,
        clock: Clock,
        *,
        max_age_seconds: float,
        on_lookup: CacheListener | None = None,
    ) -> None:
        self._source = source
        self._clock = clock
        self._max_age = max_age_seconds
        self._on_lookup = on_lookup
        self._chains: dict[tuple[Underlying, date], OptionChain] = {}
        self._locks: dict[tuple[Underlying, date], asyncio.Lock] = {}

    def cached(self, underlying: Underlying, expiry: date) -> OptionChain | None:
        return self._chains.get((underlying, expiry))

    async def get(self, underlying: Underlying, expiry: date) -> OptionChain:
        """A chain no older than `max_age_seconds`, fetched if needed."""
        key = (underlying, expiry)
        chain = self._chains.get(key)
        if chain is not None and chain.age_seconds(self._clock.now()) <= self._max_age:
            self._report(hit=True)
            return chain
        async with self._locks.setdefault(key, asyncio.Lock()):
            chain = self._chains.get(key)  # another task may have fetched it meanwhile
            if chain is not None and chain.age_seconds(self._clock.now()) <= self._max_age:
                self._report(hit=True)
                return chain
            self._report(hit=False)
            return await self.refresh(underlying, expiry)

    async def refresh(self, underlying: Underlying, expiry: date) -> OptionChain:
        """Fetch now and keep the result."""
        try:
            body = await self._source.fetch(underlying, expiry)
            chain = parse_chain(body, underlying, expiry, self._clock.now())
        except (DhanError, ChainSchemaError) as exc:
            raise ChainUnavailableError(f"{underlying} {expiry} option chain: {exc}") from exc
        self._chains[(underlying, expiry)] = chain
        return chain

    def _report(self, *, hit: bool) -> None:
        if self._on_lookup is not None:
            self._on_lookup(hit)
