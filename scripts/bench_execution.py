"""Helpers of `scripts/bench.py` for execution: signal received → `SubmitEntry` published.

In process, on the in-memory bus (every message still goes through the JSON codec), with the
real handler, gates, strike selection, sizing and KV book snapshot; the option chain is warm in
the cache, the Derivative table and the decision store are in memory, the feed's snapshot is
answered by a stub. Between signals the pyramiding book is emptied (outside the timed span) so
each signal takes the full path to a placed entry instead of stopping at the pyramiding gate.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY, RECONCILIATION_KEY, TRADING_STATE_KEY
from sarathi.common.clock import IST, FakeClock
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.control import ReconciliationRecord, ReconciliationStatus, TradingState
from sarathi.common.domain.instruments import Underlying
from sarathi.common.logging import configure_logging
from sarathi.common.messages.orders import SubmitEntry
from sarathi.common.messages.risk import ControlState
from sarathi.execution.adapters.book_store import BookStore
from sarathi.execution.adapters.chain_cache import ChainCache
from sarathi.execution.adapters.control import ControlWatch
from sarathi.execution.adapters.prices import FeedPrices
from sarathi.execution.app import rules_of
from sarathi.execution.decide import EntryDecider
from sarathi.execution.metrics import ExecutionMetrics
from sarathi.execution.service import ExecutionService
from sarathi.execution.settings import ExecutionSettings
from sarathi.execution.testing import (
    FakeChainSource,
    MemoryDecisionStore,
    MemoryDerivatives,
    SnapshotServer,
    a_chain_body,
    a_loss_budget,
    a_signal,
    an_index_tick,
)

NOW = datetime(2026, 9, 15, 14, 0, 1, tzinfo=IST)
EXPIRY = date(2026, 9, 22)
NIFTY = Underlying.NIFTY


async def _latencies(count: int) -> list[float]:
    clock = FakeClock(NOW)
    bus = InMemoryBus(clock=clock)
    await bus.ensure_streams()
    body = a_chain_body(NIFTY, EXPIRY, Decimal("24012.45"))
    derivatives = MemoryDerivatives.of_chain(NIFTY, EXPIRY, body, lot_size=65)
    settings = ExecutionSettings(max_signal_age_seconds=10**9)
    chains = ChainCache(FakeChainSource({(NIFTY, EXPIRY): body}), clock, max_age_seconds=10**9)
    await chains.get(NIFTY, EXPIRY)  # warm
    snapshots = SnapshotServer()
    snapshots.put(an_index_tick(NIFTY, Decimal("24012.45"), NOW))
    await snapshots.serve(bus)
    control = ControlWatch(bus, require_reconciliation=True)
    await bus.kv_put(TRADING_STATE_KEY, ControlState(
        message_id="cs", correlation_id="bench", event_time=NOW, state=TradingState.ACTIVE, reason="bench",
        actor="bench", updated_at=NOW,
    ).encode())  # fmt: skip
    await bus.kv_put(RECONCILIATION_KEY, ReconciliationRecord(
        status=ReconciliationStatus.DONE, reconciled=True, reason="bench", at=NOW, last_success_at=NOW
    ).encode())  # fmt: skip
    await bus.kv_put(DAILY_LOSS_BUDGET_KEY, a_loss_budget(NOW).encode())
    decider = EntryDecider(
        rules_of(settings), calendar=MarketCalendar(), chains=chains, derivatives=derivatives,
        latest_ticks=FeedPrices(bus, clock, timeout_seconds=1).latest, trading_state=control.state,
        loss_budget=control.loss_budget,
    )  # fmt: skip
    service = ExecutionService(
        bus=bus, clock=clock, decider=decider, derivatives=derivatives, decisions=MemoryDecisionStore(),
        books=BookStore(bus), metrics=ExecutionMetrics(), pending_ttl_seconds=300,
    )  # fmt: skip
    await control.start()
    await service.start()
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def on_submit(_: SubmitEntry) -> None:
        arrived.put_nowait(time.perf_counter())

    await bus.consume(
        streams.ORDER_CMD.name, "bench", subjects.ORDER_CMD_SUBMIT, on_submit, accepts=SubmitEntry
    )
    latencies = []
    try:
        for n in range(count):
            signal = a_signal(NIFTY, NOW.replace(second=0) - timedelta(minutes=n + 1))
            service.book.campaigns.clear()
            service.book.pending.clear()
            started = time.perf_counter()
            await bus.publish_durable(subjects.signal(NIFTY), signal)
            latencies.append(await asyncio.wait_for(arrived.get(), 5) - started)
    finally:
        await service.stop()
        await control.stop()
        await bus.close()
    return latencies


def signal_to_submit_latencies(count: int) -> list[float]:
    """Seconds from publishing each signal to its SubmitEntry being delivered from ORDER_CMD."""
    configure_logging("bench", "WARNING")  # one log line per decision would be measured too
    return asyncio.run(_latencies(count))
