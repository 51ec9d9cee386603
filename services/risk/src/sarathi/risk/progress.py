"""How far risk has got with each held contract's ticks: the watermark a lockstep driver waits on.

A driver that holds market time at a step T until the system has reacted to it asks risk, per
held contract, for `ticks_through`: the exchange time of the latest tick risk has fully processed
(price noted, the per-tick check run, any exit command it caused published and acked). The mark
only moves forward; it starts empty when a contract becomes held and is dropped when it is
released, so a later position in the same contract starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sarathi.common.domain.instruments import ContractKey


@dataclass(frozen=True, slots=True)
class HeldContract:
    contract: ContractKey
    held_since: datetime  # the service clock when risk started holding it
    ticks_through: datetime | None  # exchange time of the latest fully processed tick


@dataclass(frozen=True, slots=True)
class Progress:
    now: datetime
    contracts: tuple[HeldContract, ...]  # sorted by segment (wire name), then security id
    positions_open: int
    positions_closing: int


class Holding:
    """One holding of one contract, from the moment risk started holding it until its release."""

    __slots__ = ("since", "ticks_through")

    def __init__(self, since: datetime) -> None:
        self.since = since
        self.ticks_through: datetime | None = None

    def processed(self, exchange_time: datetime) -> None:
        """A tick of this holding is done: the mark moves to its exchange time, never back."""
        if self.ticks_through is None or exchange_time > self.ticks_through:
            self.ticks_through = exchange_time


class Watermarks:
    """The holding of every held contract. A tick is credited to the holding that received it, so a
    tick still in flight when its contract is released (and perhaps held again) moves nothing."""

    def __init__(self) -> None:
        self._held: dict[ContractKey, Holding] = {}

    def hold(self, contract: ContractKey, now: datetime) -> None:
        """Start holding `contract` (a no-op when it is held already)."""
        if contract not in self._held:
            self._held[contract] = Holding(now)

    def release(self, contract: ContractKey) -> None:
        self._held.pop(contract, None)

    def holding(self, contract: ContractKey) -> Holding | None:
        return self._held.get(contract)

    def reset(self) -> None:
        self._held.clear()
