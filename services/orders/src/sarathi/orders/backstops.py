"""Broker-side backstops and the token's lifetime.

`PnlExitArmer`: each trading morning, arm Dhan's P&L-based exit at the daily loss limit (and,
if asked, Dhan's kill switch with it): should everything of ours fail, Dhan itself flattens the
account at that loss (REFERENCE §4.6). A P&L exit is valid for the current day only. Its profit
value is a ceiling the day cannot reach (`domain/pnl_exit.py`), computed from the day's profit
read from the broker just before arming, so arming after a restart on a day in profit never
exits anything; during the session it is re-checked and raised if the profit comes near it.

`TokenKeeper`: measures the access token's remaining life (metric), warns well before expiry,
and renews it when a renewer is configured (Dhan's RenewToken, or PIN + TOTP generation), then
hands the new token to the REST adapter, reconnects the order-update socket and publishes it,
sealed, to every other service (`sarathi.common.dhan.token_share`: orders is the one owner). At
start it adopts the shared token when that is the live one (a restart after a renewal). The
token value is never logged.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from pydantic import SecretStr

from sarathi.common.clock import Clock
from sarathi.common.clock_hold import track_loop
from sarathi.common.dhan.errors import DhanError
from sarathi.common.dhan.token_share import TokenPublisher
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.orders.domain.pnl_exit import needs_rearming, profit_value
from sarathi.orders.domain.token import TokenAction, TokenPolicy, next_check, token_action
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.ports import Broker
from sarathi.orders.waiting import raise_if_cancelling

log = get_logger(__name__)

SHARE_RETRY_SECONDS = 5.0


class PnlExitArmer:
    def __init__(
        self,
        broker: Broker,
        clock: Clock,
        calendar: MarketCalendar,
        *,
        loss_inr: Decimal,
        kill_switch: bool,
        profit_floor_inr: Decimal = Decimal(10_000_000),
        profit_headroom: Decimal = Decimal(2),
        recheck_seconds: float = 60.0,
        wall_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._broker = broker
        self._clock = clock
        self._calendar = calendar
        self._loss = loss_inr
        self._kill_switch = kill_switch
        self._floor = profit_floor_inr
        self._headroom = profit_headroom
        self._recheck = recheck_seconds
        self._wall_sleep = wall_sleep
        self.armed_on: date | None = None
        self.armed_profit: Decimal | None = None

    async def arm_today(self) -> bool:
        """Arm once a trading day, and again whenever the day's profit nears the armed value."""
        today = self._clock.now().date()
        if not self._calendar.is_trading_day(today):
            return False
        day_profit = await self._broker.day_profit()
        armed = self.armed_profit if self.armed_on == today else None
        if armed is not None and not needs_rearming(day_profit, armed, headroom=self._headroom):
            return False
        target = profit_value(day_profit, floor_inr=self._floor, headroom=self._headroom)
        status = await self._broker.arm_pnl_exit(self._loss, target, kill_switch=self._kill_switch)
        self.armed_on, self.armed_profit = today, target
        log.info(
            "pnl_exit_armed", loss_inr=str(self._loss), profit_inr=str(target),
            day_profit_inr=str(day_profit), status=status, kill_switch=self._kill_switch,
        )  # fmt: skip
        return True

    async def run(self) -> None:
        track_loop(self._clock)  # the held day waits for a re-check due at T (sim mode only)
        while True:
            try:
                await self.arm_today()
            except DhanError:
                log.exception("pnl_exit_arming_failed")
                await self._wall_sleep(60.0)
                continue
            now = self._clock.now()
            today = now.date()
            if self._calendar.is_open(now):  # re-check the day's profit while it can change
                await self._clock.sleep_until(
                    min(now + timedelta(seconds=self._recheck), self._calendar.session_close(today))
                )
            else:
                calendar = self._calendar
                before_open = calendar.is_trading_day(today) and now < calendar.session_open(today)
                day = today if before_open else calendar.next_trading_day(today)
                await self._clock.sleep_until(calendar.session_open(day))
            raise_if_cancelling()


class TokenRenewer(Protocol):
    async def renew(self) -> tuple[SecretStr, datetime | None]:
        """A fresh token and its expiry (None when unknown)."""
        ...


class TokenKeeper:
    def __init__(
        self,
        *,
        token: SecretStr,
        expires_at: datetime | None,
        policy: TokenPolicy,
        clock: Clock,
        metrics: OrdersMetrics,
        renewer: TokenRenewer | None = None,
        on_renewed: Callable[[SecretStr], None] = lambda _: None,
        share: TokenPublisher | None = None,
    ) -> None:
        self._token = token
        self.expires_at = expires_at
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._renewer = renewer
        self._on_renewed = on_renewed
        self._share = share
        self.unshared = False  # a renewed token not yet published: retried soon

    async def share_at_start(self) -> None:
        """Adopt the shared token if it is the live one, else publish ours."""
        if self._share is None:
            return
        shared = await self._share.adopt_or_publish(self._token, self.expires_at, self._clock.now())
        if shared.token.get_secret_value() != self._token.get_secret_value():
            self._token, self.expires_at = shared.token, shared.expires_at
            self._on_renewed(shared.token)

    async def _publish(self) -> None:
        if self._share is None:
            return
        try:
            await self._share.publish(self._token, self.expires_at)
        except Exception as exc:  # the bus is down: keep the token, publish it on the next look
            self.unshared = True
            log.error("dhan_token_share_failed", error_type=type(exc).__name__)
        else:
            self.unshared = False

    def current(self) -> str:
        return self._token.get_secret_value()

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds() if self.expires_at is not None else math.nan

    async def check(self) -> TokenAction:
        """One look at the token: metric, warning, renewal."""
        now = self._clock.now()
        if self.unshared:
            await self._publish()
        self._metrics.token_seconds_to_expiry.set(self.seconds_left(now))
        action = token_action(now, self.expires_at, self._policy)
        if action is TokenAction.WARN:
            log.warning("dhan_token_expiring", seconds_left=round(self.seconds_left(now)))
        elif action is TokenAction.EXPIRED:
            log.error("dhan_token_expired")
        elif action is TokenAction.RENEW and self._renewer is not None:
            try:
                token, expires_at = await self._renewer.renew()
            except Exception as exc:  # never log the exception text: it may echo the request
                log.error("dhan_token_renewal_failed", error_type=type(exc).__name__)
                return action
            self._token, self.expires_at = token, expires_at or now + timedelta(hours=24)
            self._on_renewed(token)
            log.warning("dhan_token_renewed", expires_at=self.expires_at.isoformat())
            await self._publish()
        return action

    async def run(self) -> None:
        while True:
            await self.check()
            wait = next_check(self._clock.now(), self.expires_at, self._policy)
            await self._clock.sleep(SHARE_RETRY_SECONDS if self.unshared else wait.total_seconds())
            raise_if_cancelling()
