"""The signal history in PostgreSQL (schema `signals`, owned by this service).

Every decision at a bar close is stored, NEUTRAL ones too, so "why didn't it trade?" has an
answer; the deterministic signal id is unique, so storing again after a restart does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sarathi.common.db.models.signals import Signal as SignalRow
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.domain import TrendDecision


class SignalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(
        self, signal_id: str, underlying: Underlying, strategy: str, decision: TrendDecision, now: datetime
    ) -> bool:
        """Store one decision; False when this signal id was already stored."""
        row = {
            "signal_id": signal_id,
            "underlying": underlying.value,
            "strategy": strategy,
            "bar_close_at": decision.bar_close,
            "direction": decision.direction.value,
            "indicators": {
                "reason": decision.reason,
                **{k: str(v) for k, v in decision.indicator_decimals().items()},
            },
            "created_at": now,
        }
        statement = insert(SignalRow).values(**row).on_conflict_do_nothing(index_elements=["signal_id"])
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)
