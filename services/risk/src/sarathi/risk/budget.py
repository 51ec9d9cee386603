"""What is left of today's loss budget, written to KV `control`/`daily_loss_budget` after every check.

Execution sizes each entry so that its loss at the stop fits in this figure; it must not count
P&L a second way, so risk publishes its own: `remaining = max(0, limit + today's net P&L)`, with
the net P&L of `day_pnl` (realised plus open positions marked at their last price, less
charges). A KV value, not a stream: a reader needs only the latest, and finds it at once after
a restart. A failed write is logged and retried at the next check; execution refuses entries
while the figure it holds is older than its `loss_budget_max_age_seconds` (fail closed).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sarathi.common.bus.port import Bus
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import DailyLossBudget
from sarathi.risk.domain.daily import DayPnl

log = get_logger(__name__)


def loss_budget(day: DayPnl, loss_limit: Decimal, now: datetime) -> DailyLossBudget:
    """The budget message of one check: today's net P&L (to the paisa) against the limit."""
    net = to_paise_precision(day.pnl.net)
    return DailyLossBudget(
        **envelope(message_id=f"budget-{now:%Y%m%dT%H%M%S}", correlation_id="daily-loss", event_time=now),
        trading_day=day.day,
        net_pnl=net,
        loss_limit=loss_limit,
        remaining=max(loss_limit + net, Decimal(0)),
    )


class LossBudgetPublisher:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def publish(self, day: DayPnl, loss_limit: Decimal, now: datetime) -> None:
        budget = loss_budget(day, loss_limit, now)
        try:
            await self._bus.kv_put(DAILY_LOSS_BUDGET_KEY, budget.encode())
        except Exception as exc:  # the check goes on; execution sees an aging figure and refuses
            log.error("loss_budget_publish_failed", error=repr(exc))
