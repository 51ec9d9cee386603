"""Risk's readiness: its tasks alive and its loop completing a check within
`risk_ready_loop_periods` of its period (market time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from sarathi.common.bus.memory import InMemoryBroker, InMemoryBus
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY
from sarathi.common.clock import FakeClock
from sarathi.common.web import NotReadyError

from .support import OPEN, risk_running


class StallingBudgetBus(InMemoryBus):
    """The in-memory bus, except that writing the loss budget hangs while `stalled` is set (a NATS
    server that accepts the request and never answers)."""

    stalled = False
    waiting = 0

    async def kv_put(self, key: str, value: bytes, **kwargs: Any) -> int:
        if self.stalled and key == DAILY_LOSS_BUDGET_KEY:
            self.waiting += 1
            await asyncio.Event().wait()
        return await super().kv_put(key, value, **kwargs)


async def test_risk_whose_loop_is_stuck_in_a_check_is_not_ready_after_three_periods() -> None:
    clock = FakeClock(OPEN)
    async with risk_running(clock=clock, broker=InMemoryBroker(clock), bus_type=StallingBudgetBus) as rig:
        await rig.advance(5)
        await rig.service.ready()
        bus = rig.bus
        assert isinstance(bus, StallingBudgetBus)

        bus.stalled = True
        await rig.advance(4)
        clock.advance(timedelta(seconds=1))  # the next check starts and hangs
        async with asyncio.timeout(5):
            while not bus.waiting:  # noqa: ASYNC110 - a counter the fake bumps
                await asyncio.sleep(0)
        await rig.service.ready()  # 5 s since the last completed check: within 3 periods
        clock.advance(timedelta(seconds=11))

        with pytest.raises(NotReadyError, match=r"^last risk check for 16s of market time$"):
            await rig.service.ready()
