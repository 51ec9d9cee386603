"""The orders service's parts, wired from settings, and its running tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from sarathi.common.backoff import Backoff
from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, ConsumerOptions, Subscription
from sarathi.common.bus.streams import ORDER_CMD
from sarathi.common.clock import Clock
from sarathi.common.clock_source import rate_limit_pacing
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.token_share import TokenCipher, TokenPublisher
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.common.metrics import ServiceMetrics
from sarathi.orders.adapters.broker import DhanBroker
from sarathi.orders.adapters.order_updates import OrderUpdateClient
from sarathi.orders.adapters.publisher import OutboxPublisher
from sarathi.orders.adapters.store import Store
from sarathi.orders.adapters.token_renewal import RenewTokenRenewer, TotpTokenRenewer
from sarathi.orders.backstops import PnlExitArmer, TokenKeeper, TokenRenewer
from sarathi.orders.domain.model import BrokerOrder
from sarathi.orders.domain.token import TokenPolicy, jwt_expiry
from sarathi.orders.duplicates import DuplicateCloser
from sarathi.orders.exits import ExitProtocol
from sarathi.orders.handlers import CommandHandler
from sarathi.orders.kill import Killer
from sarathi.orders.metrics import OrdersMetrics
from sarathi.orders.placement import Placement
from sarathi.orders.reconciler import Reconciler
from sarathi.orders.recorder import Recorder
from sarathi.orders.resolver import Resolver
from sarathi.orders.settings import OrdersSettings, RenewalMethod

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = get_logger(__name__)

COMMAND_CONSUMER = "orders"
STOP_TIMEOUT_SECONDS = 10.0
COMMAND_OPTIONS = ConsumerOptions(
    ack_wait_seconds=30.0, max_deliver=50, backoff_seconds=(1.0, 2.0, 5.0, 10.0, 30.0)
)


class OrdersService:
    def __init__(
        self,
        settings: OrdersSettings,
        bus: Bus,
        engine: AsyncEngine,
        clock: Clock,
        metrics: ServiceMetrics,
        *,
        wall_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.clock = clock
        self.metrics = OrdersMetrics(metrics)
        self.rest = DhanRest(
            client_id=settings.dhan_client_id,
            access_token=settings.dhan_access_token,
            base_url=settings.dhan_rest_url,
            timeout_seconds=settings.orders_rest_timeout_seconds,
            pacing=rate_limit_pacing(settings.mode, clock),
            on_wait=self._rate_limit_wait,
        )
        self.broker = DhanBroker(DhanTrading(self.rest), product_type=settings.orders_product_type)
        self.store = Store(engine)
        self.publisher = OutboxPublisher(self.store, bus, clock)
        self.recorder = Recorder(
            self.store, clock, on_change=self.publisher.wake, on_short=self.metrics.short_positions.inc,
            on_fill=self.metrics.observe_fill, on_duplicate=self._duplicate_seen,
        )  # fmt: skip
        self.resolver = Resolver(
            self.broker,
            clock,
            sleep=wall_sleep,
            monotonic=monotonic,
            budget_seconds=settings.orders_resolve_budget_seconds,
            settle_seconds=settings.orders_resolve_settle_seconds,
        )
        self.placement = Placement(
            self.store,
            self.resolver,
            clock,
            self.metrics,
            wake=self.publisher.wake,
            sleep=wall_sleep,
            max_placements=settings.orders_max_placements_per_command,
            on_duplicate=self._duplicate_seen,
        )
        self.exits = ExitProtocol(
            self.broker,
            self.placement,
            clock,
            store=self.store,
            sleep=wall_sleep,
            max_rounds=settings.orders_exit_max_rounds,
        )
        self.duplicates = DuplicateCloser(self.store, self.exits, clock, self.metrics, wall_sleep=wall_sleep)
        self.reconciler = Reconciler(
            self.broker,
            self.store,
            self.recorder,
            bus,
            clock=clock,
            metrics=self.metrics,
            interval_seconds=settings.orders_reconcile_interval_seconds,
            wall_sleep=wall_sleep,
            after_pass=self.duplicates.wake,
        )
        self.handler = CommandHandler(
            self.store,
            self.broker,
            self.placement,
            self.exits,
            clock=clock,
            metrics=self.metrics,
            reconciled=self.reconciler.reconciled,
            wait_reconciled_seconds=settings.orders_submit_wait_reconciled_seconds,
            product_type=settings.orders_product_type,
        )
        key = settings.shared_token_key()
        self.token_share = TokenPublisher(bus, TokenCipher(key)) if key is not None else None
        self.tokens = self._token_keeper()
        self.updates = OrderUpdateClient(
            url=settings.dhan_order_update_url,
            client_id=settings.dhan_client_id,
            token=self.tokens.current,
            on_report=self._on_socket_report,
            on_connected=self._after_connect,
            backoff=Backoff(
                initial_seconds=0.5, cap_seconds=settings.orders_order_update_backoff_cap_seconds
            ),
            on_reconnect=self.metrics.order_update_reconnects.inc,
            on_alert=self.metrics.order_update_alerts.inc,
        )
        self.killer = Killer(self.broker, self.store, self.exits, clock, sleep=wall_sleep)
        self.armer = (
            PnlExitArmer(
                self.broker,
                clock,
                MarketCalendar(),
                loss_inr=settings.orders_pnl_exit_loss_inr,
                kill_switch=settings.orders_pnl_exit_kill_switch,
                profit_floor_inr=settings.orders_pnl_exit_profit_floor_inr,
                profit_headroom=settings.orders_pnl_exit_profit_headroom,
                recheck_seconds=settings.orders_pnl_exit_recheck_seconds,
                wall_sleep=wall_sleep,
            )
            if settings.orders_pnl_exit_loss_inr is not None
            else None
        )

    def _duplicate_seen(self) -> None:
        self.metrics.duplicate_orders.inc()
        self.duplicates.wake()

    def _rate_limit_wait(self, category: Category, seconds: float) -> None:
        self.metrics.rate_limit_wait.labels(category=category.value).inc()
        self.metrics.rate_limit_wait_seconds.labels(category=category.value).observe(seconds)

    def _token_keeper(self) -> TokenKeeper:
        settings = self.settings
        token = settings.dhan_access_token
        renewer: TokenRenewer | None = None
        method = settings.renewal_method()
        if method is RenewalMethod.TOTP:  # never in sim mode (the settings refuse it)
            renewer = TotpTokenRenewer(
                settings.dhan_client_id, settings.dhan_pin, settings.dhan_totp_secret, self.clock
            )
        elif method is RenewalMethod.RENEW_TOKEN:

            def current() -> str:
                return self.tokens.current()

            renewer = RenewTokenRenewer(settings.dhan_client_id, current, rest_url=settings.dhan_rest_url)
        policy = TokenPolicy(
            renew_before=timedelta(seconds=settings.dhan_token_renew_before_seconds),
            warn_before=timedelta(seconds=settings.dhan_token_warn_before_seconds),
            can_renew=renewer is not None,
        )
        return TokenKeeper(
            token=token,
            expires_at=settings.token_expiry() or jwt_expiry(token.get_secret_value()),
            policy=policy,
            clock=self.clock,
            metrics=self.metrics,
            renewer=renewer,
            on_renewed=self._use_token,
            share=self.token_share,
        )

    def _use_token(self, token: SecretStr) -> None:
        self.rest.set_access_token(token)
        self.updates.reconnect()

    async def _on_socket_report(self, report: BrokerOrder) -> None:
        result = await self.recorder.record(report)
        if result.fills:
            self.metrics.fills.labels(source="order_update").inc(result.fills)

    async def _after_connect(self) -> None:
        await self.reconciler.run_pass()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[OrdersService]:
        tasks: list[asyncio.Task[Any]] = []

        def start(name: str, coroutine: Coroutine[Any, Any, None]) -> None:
            task = asyncio.create_task(coroutine, name=f"orders-{name}")
            task.add_done_callback(_report_end)
            tasks.append(task)

        await self.tokens.share_at_start()  # the shared token, before any call to Dhan
        start("publisher", self.publisher.run())
        start("reconciler", self.reconciler.run())
        start("duplicates", self.duplicates.run())
        start("order-updates", self.updates.run())
        start("token", self.tokens.run())
        if self.armer is not None:
            start("pnl-exit", self.armer.run())
        consumer: Subscription | None = None
        try:
            consumer = await self.bus.consume(
                ORDER_CMD.name, COMMAND_CONSUMER, subjects.ORDER_CMD_ALL, self.handler.handle, COMMAND_OPTIONS
            )
            yield self
        finally:
            if consumer is not None:
                await consumer.stop()
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:  # never seen; a task that ignores cancellation must not hang shutdown
                log.error("orders_task_did_not_stop", task=task.get_name())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.publisher.flush(), STOP_TIMEOUT_SECONDS)


def _report_end(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("orders_task_died", task=task.get_name(), error=repr(error))
