"""Dhan refusing order calls for a cause no retry can fix: the static IP (DH-911, REFERENCE §1.8).

Orders does not own the trading state, risk does. So a refusal becomes one `BrokerRefusedOrders`
per refused command (or per order whose cancel was refused: a deterministic message id, written
to the outbox, so re-reading the same refusal publishes nothing new) on
`risk.evt.BrokerRefusedOrders`; risk turns it into HALTED with the reason. Here it is also an
error log (`broker_refused_orders`) and the alert metric `sarathi_orders_broker_refusals_total`.
The command itself is recorded as rejected by whoever made the call, never retried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from sarathi.common.bus import subjects
from sarathi.common.clock import Clock
from sarathi.common.dhan.errors import DhanIpRefusedError
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import BrokerRefusedOrders
from sarathi.orders.adapters.store import Store
from sarathi.orders.metrics import OrdersMetrics

log = get_logger(__name__)

Operation = Literal["PLACE", "CANCEL"]


class BrokerRefusals:
    def __init__(
        self, store: Store, clock: Clock, metrics: OrdersMetrics, *, wake: Callable[[], None]
    ) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._wake = wake

    async def refused(self, operation: Operation, target: str, error: DhanIpRefusedError) -> None:
        """Tell risk (once per `target`) that Dhan refused this call; a failure to record it is
        logged, and the caller's own error still propagates."""
        code = error.code or "DH-911"
        self._metrics.broker_refusals.labels(code=code).inc()
        log.error(
            "broker_refused_orders", code=code, reason=error.message, operation=operation, target=target
        )
        now = self._clock.now()
        event = BrokerRefusedOrders(
            **envelope(message_id=f"refused-{operation}-{target}", correlation_id=target, event_time=now),
            error_code=code,
            reason=(error.message or "Invalid IP")[:500],
            operation=operation,
            target=target[:64],
        )
        try:
            async with self._store.transaction() as tx:
                await tx.add_event(subjects.BROKER_REFUSED_ORDERS, event, now)
        except Exception:  # the database too: the next refused call tries again
            log.exception("broker_refusal_unrecorded", target=target)
            return
        self._wake()
