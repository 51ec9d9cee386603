"""The trading state and the loss budget execution obeys, from the KV bucket `control`.

Three keys: `trading_state` (a `ControlState`, written by risk: the operator's state),
`reconciliation` (a `ReconciliationRecord`, written by orders) and `daily_loss_budget` (a
`DailyLossBudget`, written by risk after every check). The effective state is
`effective_state(operator, reconciled)`: RECONCILING until orders has matched its books with the
broker, HALTED always wins. No published state, or an undecodable one, means no entries; so does
no (or an undecodable) loss budget (the `loss_budget` gate).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from pydantic import ValidationError

from sarathi.common.bus.port import Bus, KvEntry
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY, RECONCILIATION_KEY, TRADING_STATE_KEY
from sarathi.common.domain.control import (
    ReconciliationRecord,
    TradingState,
    effective_state,
    is_reconciled,
)
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import MessageDecodeError, decode_as
from sarathi.common.messages.risk import ControlState, DailyLossBudget

log = get_logger(__name__)


class ControlWatch:
    def __init__(self, bus: Bus, *, require_reconciliation: bool) -> None:
        self._bus = bus
        self._require_reconciliation = require_reconciliation
        self._operator: ControlState | None = None
        self._reconciliation: ReconciliationRecord | None = None
        self._budget: DailyLossBudget | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def state(self) -> TradingState | None:
        """The effective state now, or None when no operator state was ever published."""
        if self._operator is None:
            return None
        reconciled = not self._require_reconciliation or is_reconciled(self._reconciliation)
        return effective_state(self._operator.state, reconciled)

    def loss_budget(self) -> DailyLossBudget | None:
        """Risk's latest figure of what is left of today's loss budget, or None before the first."""
        return self._budget

    async def start(self) -> None:
        """Read every key now (so the first signal sees them), then follow every change."""
        for key, apply in (
            (TRADING_STATE_KEY, self._apply_state),
            (RECONCILIATION_KEY, self._apply_reconciliation),
            (DAILY_LOSS_BUDGET_KEY, self._apply_budget),
        ):
            entry = await self._bus.kv_get(key)
            if entry is not None:
                apply(entry)
            self._tasks.append(asyncio.create_task(self._follow(key, apply), name=f"execution-watch-{key}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _follow(self, key: str, apply: Callable[[KvEntry], None]) -> None:
        async for entry in self._bus.kv_watch(key):
            apply(entry)

    def _apply_state(self, entry: KvEntry) -> None:
        try:
            self._operator = decode_as(entry.value, ControlState) if entry.value else None
        except MessageDecodeError as exc:
            self._operator = None  # fail closed: an unreadable state allows nothing
            log.error("trading_state_undecodable", revision=entry.revision, error=str(exc))

    def _apply_reconciliation(self, entry: KvEntry) -> None:
        try:
            self._reconciliation = ReconciliationRecord.decode(entry.value) if entry.value else None
        except ValidationError as exc:
            self._reconciliation = None
            log.error("reconciliation_undecodable", revision=entry.revision, error=str(exc))

    def _apply_budget(self, entry: KvEntry) -> None:
        try:
            self._budget = decode_as(entry.value, DailyLossBudget) if entry.value else None
        except MessageDecodeError as exc:
            self._budget = None  # fail closed: no figure allows no entry
            log.error("loss_budget_undecodable", revision=entry.revision, error=str(exc))
