"""The orders service's parts, wired from settings, and its running tasks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr

from sarathi.common.backoff import Backoff
from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus, ConsumerOptions, Subscription, one_of
from sarathi.common.bus.streams import ORDER_CMD
from sarathi.common.clock import Clock
from sarathi.common.clock_source import rate_limit_pacing
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.token_share import TokenCipher, TokenPublisher
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.common.messages.orders import CancelOrder, ExitPosition, SubmitEntry
from sarathi.common.metrics import ServiceMetrics
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError
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
from sarathi.orders.refusals import BrokerRefusals
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
        self.store = Store(engine)
        self.publisher = OutboxPublisher(self.store, bus, clock)
        self.refusals = BrokerRefusals(self.store, clock, self.metrics, wake=self.publisher.wake)
        self.broker = DhanBroker(
            DhanTrading(self.rest),
            product_type=settings.orders_product_type,
            on_refused=self.refusals.refused,
        )
        self.recorder = Recorder(
            self.store, clock, on_change=self.publisher.wake, on_short=self.metrics.short_positions.inc,
            on_fill=self.metrics.observe_fill, on_duplicate=self._duplicate_seen,
            product=self.broker.product_type,
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
        self.tasks = BackgroundTasks("orders")
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

    async def ready(self) -> None:
        """Readiness: every task runs, the order-update socket is logged in, the last
        reconciliation pass succeeded."""
        await self.tasks.ready()
        if not self.updates.connected.is_set():
            last = self.updates.last_error
            raise NotReadyError(
                "order-update socket not logged in to Dhan" + (f" (last error: {last})" if last else "")
            )
        if not self.reconciler.reconciled.is_set():
            last = self.reconciler.last_failure
            raise NotReadyError(
                "start-up reconciliation with the broker not done yet"
                + (f" (last error: {last})" if last else "")
            )
        if self.reconciler.last_failure is not None:
            raise NotReadyError(f"last reconciliation with the broker failed: {self.reconciler.last_failure}")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[OrdersService]:
        tasks = self.tasks
        await self.tokens.share_at_start()  # the shared token, before any call to Dhan
        tasks.start("publisher", self.publisher.run())
        tasks.start("reconciler", self.reconciler.run())
        tasks.start("duplicates", self.duplicates.run())
        tasks.start("order-updates", self.updates.run())
        tasks.start("token", self.tokens.run())
        if self.armer is not None:
            tasks.start("pnl-exit", self.armer.run())
        consumer: Subscription | None = None
        try:
            consumer = await self.bus.consume(
                ORDER_CMD.name,
                COMMAND_CONSUMER,
                subjects.ORDER_CMD_ALL,
                self.handler.handle,
                COMMAND_OPTIONS,
                accepts=one_of(SubmitEntry, ExitPosition, CancelOrder),
            )
            yield self
        finally:
            if consumer is not None:
                await consumer.stop()
            await tasks.stop(STOP_TIMEOUT_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.publisher.flush(), STOP_TIMEOUT_SECONDS)
