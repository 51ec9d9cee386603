"""Helpers of `scripts/bench.py` for risk: tick → exit command latency on a real NATS server.

The real `RiskService` (wall clock, in-memory tracker store — trackers are written behind the
tick path, so PostgreSQL is not on it) runs against a local nats-server with JetStream. A load
generator on its own NATS connection publishes ticks of N armed positions at a fixed rate (the
feed's wire format: `Tick` JSON on `md.tick.<seg>.<id>`); now and then one tick drops a position
through its trail. A core subscriber on `order.cmd.exit` timestamps each `ExitPosition` (the
JetStream publish is a NATS publish, so it sees it as orders would) against the send time of the
tick that crossed the trail. Load, risk and measurement share one process and one event loop, so
the figures include that contention (conservative).

Modes: tick-driven (`risk_evaluate_on_tick`) and the 5-second loop, to show the difference.

Risk runs on `SessionClock`: wall-clock speed, but inside a trading session (10:00 IST on a fixed
trading day onwards). On the bare wall clock, a run after 15:15 IST saw every position squared
off at once and measured no trail exit at all.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import nats

from sarathi.common import devservers
from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.clock import IST, LiveClock
from sarathi.common.domain.instruments import ExchangeSegment, SecurityId, Underlying
from sarathi.common.logging import configure_logging
from sarathi.common.messages.base import envelope
from sarathi.common.messages.market import Tick
from sarathi.common.messages.orders import PositionOpened
from sarathi.risk.adapters.store import MemoryStore
from sarathi.risk.metrics import RiskMetrics
from sarathi.risk.service import RiskService
from sarathi.risk.settings import RiskSettings

QUANTITY = 80  # ₹20 of premium is ₹1,600
FIRST_ID = 70000
SESSION_START = datetime(2026, 9, 16, 10, 0, tzinfo=IST)  # a trading day, far from the square-off


class SessionClock(LiveClock):
    """The wall clock moved to `SESSION_START` when made; it runs at wall speed from there."""

    def __init__(self) -> None:
        self._offset: timedelta = SESSION_START - datetime.now(IST)

    def now(self) -> datetime:
        return datetime.now(IST) + self._offset


def _tick(security_id: str, price: str, at: datetime) -> bytes:
    return Tick(
        **envelope(correlation_id="bench", event_time=at),
        segment=ExchangeSegment.NSE_FNO,
        security_id=SecurityId(security_id),
        ltp=Decimal(price),
        exchange_time=at,
        received_at=at,
    ).encode()


def _opened(security_id: str, at: datetime) -> PositionOpened:
    cause = f"bench-{security_id}"
    return PositionOpened(
        **envelope(message_id=f"pos-{cause}", correlation_id=cause, causation_id=cause, event_time=at),
        security_id=SecurityId(security_id),
        segment=ExchangeSegment.NSE_FNO,
        underlying=Underlying.NIFTY,
        net_quantity=QUANTITY,
        average_price=Decimal(100),
        realized_pnl=Decimal(0),
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _run(
    nats_url: str, *, on_tick: bool, positions: int, rate: int, seconds: float, exits: int
) -> list[float]:
    clock = SessionClock()
    settings = RiskSettings(
        risk_evaluate_on_tick=on_tick,
        risk_stale_after_seconds=60,
        risk_stale_exit_after_seconds=120,
        risk_daily_loss_limit_inr=Decimal(10**9),
        risk_feed_timeout_seconds=0.05,
    )
    bus = await NatsBus.connect(nats_url, name="bench-risk")
    await bus.ensure_streams()
    service = RiskService(settings, bus, clock, MemoryStore(), RiskMetrics())
    load = await nats.connect(nats_url, name="bench-load")
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def on_exit(msg: Any) -> None:
        received = time.perf_counter()
        security_id = json.loads(msg.data)["security_id"]
        if security_id in sent:
            latencies.append(received - sent.pop(security_id))

    await load.subscribe(subjects.ORDER_CMD_EXIT, cb=on_exit)
    ids = [str(FIRST_ID + i) for i in range(positions)]
    try:
        async with service.running():
            for security_id in ids:
                await bus.publish_durable(
                    subjects.position_event("PositionOpened"), _opened(security_id, clock.now())
                )
            while len(service.guardian.book.open_positions()) < positions:  # noqa: ASYNC110 - bench set-up
                await asyncio.sleep(0.01)
            for security_id in ids:  # arm every trail at ₹1,600
                await load.publish(
                    subjects.tick(ExchangeSegment.NSE_FNO, security_id),
                    _tick(security_id, "120", clock.now()),
                )
            await load.flush()
            await asyncio.sleep(5.5 if not on_tick else 0.2)  # the loop arms them in loop mode
            await _load(load, clock, ids, sent, rate=rate, seconds=seconds, exits=exits)
            await asyncio.sleep(6.0 if not on_tick else 0.5)  # let the last exits arrive
    finally:
        await load.close()
        await bus.close()
    return latencies


async def _load(
    load: Any,
    clock: SessionClock,
    ids: list[str],
    sent: dict[str, float],
    *,
    rate: int,
    seconds: float,
    exits: int,
) -> None:
    rng = random.Random(11)  # noqa: S311 - reproducible load, not security
    total = int(rate * seconds)
    exit_at = set(rng.sample(range(total // 10, total), exits))
    remaining = list(ids)
    rng.shuffle(remaining)
    batch = max(1, rate // 1000)  # ticks per millisecond
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(0, total, batch):
        for offset in range(batch):
            number = index + offset
            now = clock.now()
            if number in exit_at and remaining:
                security_id = remaining.pop()
                data = _tick(security_id, "115", now)  # ₹1,200: through the trail
                subject = subjects.tick(ExchangeSegment.NSE_FNO, security_id)
                sent[security_id] = time.perf_counter()
                await load.publish(subject, data)
            else:
                security_id = rng.choice(remaining or ids)  # a dropped contract stays down
                price = rng.choice(("120", "120.05", "120.1", "120.2"))
                await load.publish(
                    subjects.tick(ExchangeSegment.NSE_FNO, security_id), _tick(security_id, price, now)
                )
        delay = start + (index + batch) / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
    await load.flush()


def tick_to_exit(
    *, on_tick: bool, positions: int = 400, rate: int = 1000, seconds: float = 10.0, exits: int = 300
) -> dict[str, Any]:
    configure_logging("bench", "ERROR")
    server = devservers.start_nats()
    try:
        latencies = asyncio.run(
            _run(server.url, on_tick=on_tick, positions=positions, rate=rate, seconds=seconds, exits=exits)
        )
    finally:
        server.stop()
    if not latencies:
        return {"exits_measured": 0}
    return {
        "exits_measured": len(latencies),
        "ticks_per_second": rate,
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
    }
