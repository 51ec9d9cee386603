"""The trading state every service obeys (ARCHITECTURE §3, KV bucket `control`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class TradingState(StrEnum):
    RECONCILING = "RECONCILING"  # orders has not yet matched its books with the broker: no entries
    ACTIVE = "ACTIVE"  # normal trading
    PAUSED = "PAUSED"  # no new entries; open positions are still managed
    HALTED = "HALTED"  # flatten and stay flat

    @property
    def allows_entries(self) -> bool:
        return self is TradingState.ACTIVE


class ReconciliationStatus(StrEnum):
    """The orders service's books against the broker's (KV bucket `control`, key `reconciliation`)."""

    RECONCILING = "RECONCILING"  # the start-up pass has not succeeded yet: no entries
    DONE = "DONE"  # the last pass succeeded
    FAILED = "FAILED"  # the last pass failed; DONE before it still counts (see `is_reconciled`)


def effective_state(operator: TradingState, reconciled: bool) -> TradingState:
    """The state execution obeys: the operator's (`risk`'s) state, but RECONCILING until `orders`
    has reconciled with the broker at least once since it started. A HALTED operator state wins
    over RECONCILING: halting never waits for the books."""
    if operator is TradingState.HALTED or reconciled:
        return operator
    return TradingState.RECONCILING


class ReconciliationRecord(BaseModel):
    """The value of KV key `reconciliation` (bucket `control`), JSON, written by `orders` only.

    `reconciled` is True once a pass has succeeded since the orders service started; a later
    failed pass leaves it True (the books were matched, the broker was briefly unreachable).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ReconciliationStatus
    reconciled: bool
    reason: str = Field(min_length=1, max_length=500)
    at: AwareDatetime
    last_success_at: AwareDatetime | None = None

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, value: bytes | str) -> ReconciliationRecord:
        return cls.model_validate_json(value)


def is_reconciled(record: ReconciliationRecord | None, *, since: datetime | None = None) -> bool:
    """Whether `record` says the books were reconciled (after `since`, when given)."""
    if record is None or not record.reconciled or record.last_success_at is None:
        return False
    return since is None or record.last_success_at >= since
