"""The 5-second loop on market time, and the daily loss limit it enforces.

Checks run at every multiple of the interval (09:15:00, 09:15:05, ... of market time, on the
Clock), so they are predictable in tests and in the logs; lateness is measured. After each check
of the positions, today's P&L net of charges is compared with the limit: on a breach the state
goes HALTED (audited, actor `risk`) and today's daily-loss halt is recorded (it holds for the rest
of the trading day, whatever the P&L does next), a `DailyLossBreached` is published once per day
and every position is exited (DAILY_LOSS). Every check also writes what is left of today's loss
budget to KV `control`/`daily_loss_budget` (`budget.py`), which execution's sizing keeps within.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus
from sarathi.common.clock import Clock
from sarathi.common.clock_hold import track_loop
from sarathi.common.domain.money import to_paise_precision
from sarathi.common.domain.trading import ExitReason
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope
from sarathi.common.messages.risk import DailyLossBreached
from sarathi.common.web import NotReadyError
from sarathi.risk.budget import LossBudgetPublisher
from sarathi.risk.control import DAILY_LOSS_REASON_PREFIX, SERVICE_ACTOR, ControlKeeper
from sarathi.risk.domain import ids
from sarathi.risk.domain.control import Action
from sarathi.risk.domain.daily import DayPnl, loss_limit_breached
from sarathi.risk.domain.position import Status
from sarathi.risk.domain.trail import ExitDecision
from sarathi.risk.guardian import Guardian
from sarathi.risk.metrics import RiskMetrics

log = get_logger(__name__)


def next_check(now: datetime, interval_seconds: float) -> datetime:
    """The first multiple of the interval (since the epoch) strictly after `now`."""
    epoch = now.timestamp()
    slot = math.floor(epoch / interval_seconds + 1e-9) + 1
    return now + timedelta(seconds=slot * interval_seconds - epoch)


class RiskLoop:
    def __init__(
        self,
        guardian: Guardian,
        control: ControlKeeper,
        bus: Bus,
        clock: Clock,
        metrics: RiskMetrics,
        *,
        interval_seconds: float = 5.0,
    ) -> None:
        self._guardian = guardian
        self._control = control
        self._bus = bus
        self._clock = clock
        self._metrics = metrics
        self._interval = interval_seconds
        self._budget = LossBudgetPublisher(bus)
        self.rounds = 0  # checks completed (tests wait on it)
        self.started_at: datetime | None = None  # market time the loop started
        self.last_round_at: datetime | None = None  # market time of the last completed check
        self.last_error: str | None = None  # why the last check failed (None once one completes)

    async def run(self) -> None:
        self.started_at = self._clock.now()
        track_loop(self._clock)  # the held day waits for the check due at T (sim mode only)
        while True:
            due = next_check(self._clock.now(), self._interval)
            await self._clock.sleep_until(due)
            now = self._clock.now()
            self._metrics.loop_lateness.observe(max(0.0, (now - due).total_seconds()))
            try:
                await self.tick(now)
            except Exception as exc:  # one failed check must not end the watchdog
                self.last_error = (str(exc) or type(exc).__name__)[:300]
                log.error("risk_check_failed", error=repr(exc), exc_info=True)

    def ready(self, now: datetime, periods: float) -> None:
        """Raises `NotReadyError` unless a check completed within `periods` intervals (since the
        loop started, before its first check)."""
        since = self.last_round_at or self.started_at
        if since is None:
            raise NotReadyError("the risk loop has not started")
        late = (now - since).total_seconds()
        if late > periods * self._interval:
            what = "no completed risk check" if self.last_round_at is None else "last risk check"
            error = f" (last error: {self.last_error})" if self.last_error else ""
            raise NotReadyError(f"{what} for {late:.0f}s of market time{error}")

    async def tick(self, now: datetime) -> DayPnl:
        """One round: every position, then the daily loss limit, then the gauges."""
        self._guardian.book.forget_closed_before(now.date())
        day = await self._guardian.check_all(now)
        await self._budget.publish(day, self._guardian.rules.daily_loss_limit, now)
        if loss_limit_breached(day.pnl, self._guardian.rules):
            await self._breach(day)
        self._gauges(day, now)
        try:
            await self._control.save_unsaved()
        except Exception as exc:  # still unreachable: the halt holds in memory, retried next round
            log.error("trading_halt_save_failed", error=repr(exc))
        self.rounds += 1
        self.last_round_at, self.last_error = now, None
        return day

    async def _breach(self, day: DayPnl) -> None:
        limit = self._guardian.rules.daily_loss_limit
        if self._control.halts().daily_loss is None:  # once a day, halted or not (a kill may hold)
            self._metrics.daily_loss_breaches.inc()
            net = to_paise_precision(day.pnl.net)
            reason = f"{DAILY_LOSS_REASON_PREFIX} ₹{limit} breached: net P&L today ₹{net}"
            await self._control.act(
                Action.DAILY_LOSS,
                actor=SERVICE_ACTOR,
                reason=reason,
                remote_address=None,
                daily_loss_breached=True,
            )
            log.critical("daily_loss_breached", net=str(day.pnl.net), limit=str(limit))
        event = DailyLossBreached(
            **envelope(
                message_id=ids.daily_loss_id(day.day),
                correlation_id="daily-loss",
                event_time=self._clock.now(),
            ),
            trading_day=day.day,
            realized_pnl=to_paise_precision(day.pnl.realized - day.pnl.charges),
            unrealized_pnl=to_paise_precision(day.pnl.unrealized),
            total_pnl=to_paise_precision(day.pnl.realized - day.pnl.charges)
            + to_paise_precision(day.pnl.unrealized),
            loss_limit=limit,
        )
        await self._bus.publish_durable(subjects.risk_event(event.type), event)  # once a day: fixed id
        decision = ExitDecision(ExitReason.DAILY_LOSS, None, None, "daily loss limit breached")
        await self._guardian.flatten(decision, SERVICE_ACTOR)

    def _gauges(self, day: DayPnl, now: datetime) -> None:
        metrics, guardian = self._metrics, self._guardian
        metrics.day_pnl.labels("gross").set(float(day.pnl.gross))
        metrics.day_pnl.labels("net").set(float(day.pnl.net))
        # Beside the P&L, so "near the limit" is a ratio of two gauges (deploy/prometheus/alerts.yml).
        metrics.daily_loss_limit.set(float(guardian.rules.daily_loss_limit))
        positions = guardian.book.all()
        for status in Status:
            metrics.positions.labels(status.value).set(sum(p.status is status for p in positions))
        open_positions = guardian.book.open_positions()
        metrics.stale_contracts.set(sum(guardian.is_stale(p, now) for p in open_positions))
        for position in open_positions:
            if guardian.ltp(position.contract) is not None:
                pnl = guardian.position_pnl(position, now)
                metrics.position_pnl.labels(position.security_id, "gross").set(float(pnl.gross))
                metrics.position_pnl.labels(position.security_id, "net").set(float(pnl.net))
