"""Reconciliation with the broker: at start-up, after every order-update (re)connect, and every
`interval_seconds` of market time.

A pass reads the broker's order book, trade book and positions, and records every broker order
(with its trades) through the `Recorder` — which corrects our books and queues the events of
whatever we had missed, and changes nothing we already knew. An order carrying our correlation-id
scheme that we have no record of is adopted (recorded, linked to its command, announced); a
duplicate entry is recorded apart and handed to the duplicate closer (`after_pass`). What remains
different (our open orders the broker no longer lists, net quantities that still disagree) is
logged and measured.

Until the first pass succeeds, the KV key `reconciliation` says RECONCILING (execution places no
entries; the command handler holds submits); afterwards DONE, or FAILED with `reconciled` still
true after a later failure.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable

from sarathi.common.backoff import Backoff
from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import CONTROL_BUCKET, RECONCILIATION_KEY
from sarathi.common.clock import Clock
from sarathi.common.clock_hold import track_loop
from sarathi.common.domain.control import ReconciliationRecord, ReconciliationStatus
from sarathi.common.domain.trading import Leg
from sarathi.common.logging import get_logger
from sarathi.orders.adapters.store import Store
from sarathi.orders.domain.model import BrokerTrade
from sarathi.orders.domain.reconcile import Drift, OurOrder, diff_orders, diff_positions
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.ports import Broker
from sarathi.orders.recorder import Recorder, day_start
from sarathi.orders.waiting import raise_if_cancelling

log = get_logger(__name__)


class Reconciler:
    def __init__(
        self,
        broker: Broker,
        store: Store,
        recorder: Recorder,
        bus: Bus,
        *,
        clock: Clock,
        metrics: OrdersMetrics,
        interval_seconds: float = 60.0,
        wall_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff | None = None,
        after_pass: Callable[[], None] = lambda: None,
    ) -> None:
        self._broker = broker
        self._store = store
        self._recorder = recorder
        self._bus = bus
        self._clock = clock
        self._metrics = metrics
        self._interval = interval_seconds
        self._wall_sleep = wall_sleep
        self._backoff = backoff or Backoff(initial_seconds=1.0, cap_seconds=15.0)
        self._after_pass = after_pass  # wakes the duplicate closer: a pass may have adopted one
        self.reconciled = asyncio.Event()
        self._lock = asyncio.Lock()
        self.passes = 0
        self.last_failure: str | None = None  # why the latest pass failed; None once one succeeds

    async def idle(self) -> None:
        """Return once no pass is running (a pass that starts later is not waited for)."""
        async with self._lock:
            return

    async def run_pass(self) -> Drift:
        """One pass; raises when the broker or the database fails (nothing half-applied matters:
        every step is idempotent). `last_failure` says why the latest pass failed, if it did."""
        try:
            drift = await self._pass()
        except Exception as exc:
            self.last_failure = (str(exc) or type(exc).__name__)[:300]
            raise
        self.last_failure = None
        return drift

    async def _pass(self) -> Drift:
        async with self._lock:
            orders = await self._broker.orders()
            trades = await self._broker.trades()
            positions = await self._broker.positions()
            async with self._store.transaction() as tx:
                ours = await tx.orders_with_broker_ids()
            drift = diff_orders(
                (OurOrder(o.broker_order_id or "", o.status, o.filled_quantity) for o in ours), orders
            )
            by_order: dict[str, list[BrokerTrade]] = defaultdict(list)
            for trade in trades:
                by_order[trade.broker_order_id].append(trade)
            # Entries and plain orders before legs: a leg's row points at its entry's row.
            for report in sorted(orders, key=lambda o: o.leg in (Leg.TARGET, Leg.STOP_LOSS)):
                result = await self._recorder.record(report, by_order.get(report.broker_order_id, ()))
                if result.fills:
                    self._metrics.fills.labels(source="reconciliation").inc(result.fills)
            async with self._store.transaction() as tx:
                nets = await tx.nets_since(day_start(self._clock.now()))
            mismatches = diff_positions(nets, positions)
            drift = Drift(drift.new_at_broker, drift.changed, drift.missing_at_broker, mismatches)
            self.passes += 1
        self._after_pass()
        self._metrics.reconciliation_drift.set(drift.size)
        self._metrics.reconciliation_last_success.set(self._clock.now().timestamp())
        if drift.size:
            log.warning(
                "reconciliation_drift",
                new_at_broker=list(drift.new_at_broker),
                changed=list(drift.changed),
                missing_at_broker=list(drift.missing_at_broker),
                positions=[(m.contract.security_id, m.ours, m.broker) for m in mismatches],
            )
        return drift

    async def _publish(self, status: ReconciliationStatus, reason: str) -> None:
        now = self._clock.now()
        record = ReconciliationRecord(
            status=status,
            reconciled=self.reconciled.is_set(),
            reason=reason[:500] or status.value,
            at=now,
            last_success_at=now if status is ReconciliationStatus.DONE else None,
        )
        try:
            await self._bus.kv_put(RECONCILIATION_KEY, record.encode(), bucket=CONTROL_BUCKET)
        except Exception:  # the state is re-published by the next pass
            log.exception("reconciliation_state_publish_failed")

    async def start(self) -> None:
        """Say RECONCILING, then pass until one succeeds (with backoff), then say DONE."""
        await self._publish(ReconciliationStatus.RECONCILING, "start-up reconciliation pending")
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.run_pass()
            except Exception as exc:  # the broker or the database is down: keep trying, never trade
                self._metrics.reconciliation_failures.inc()
                log.exception("startup_reconciliation_failed", attempt=attempt)
                await self._publish(ReconciliationStatus.RECONCILING, f"start-up pass failed: {exc}")
                await self._wall_sleep(self._backoff.delay(attempt, random.random()))  # noqa: S311
                continue
            self.reconciled.set()
            await self._publish(ReconciliationStatus.DONE, "start-up reconciliation succeeded")
            log.info("reconciled", passes=self.passes)
            return

    async def run(self) -> None:
        """Start-up pass, then one pass every interval of market time, until cancelled."""
        await self.start()
        track_loop(self._clock)  # the held day waits for a pass due at T (sim mode only)
        while True:
            await self._clock.sleep(self._interval)
            raise_if_cancelling()
            try:
                await self.run_pass()
            except Exception as exc:
                self._metrics.reconciliation_failures.inc()
                log.exception("reconciliation_failed")
                await self._publish(ReconciliationStatus.FAILED, f"pass failed: {exc}")
            else:
                await self._publish(ReconciliationStatus.DONE, "reconciled")
