"""Composition root of the orders service: builds everything from settings, connects nothing at import.

The lifespan connects NATS and PostgreSQL (`build_service_app`), picks the clock (the sim's market
clock in `sim` mode, the wall clock otherwise), builds `OrdersService` and runs it. `/readyz` adds
the check `orders`: its tasks alive, the order-update socket logged in, the latest reconciliation
pass succeeded. `live` mode refuses to start unless credentials are present and
`SARATHI_LIVE_TRADING=armed` (enforced by the settings' validator before anything is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from sarathi.common.clock import HoldHooks, SimClock
from sarathi.common.clock_source import running_clock
from sarathi.common.messages.sim import ClockHeld
from sarathi.common.metrics import ServiceMetrics
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.web import OPEN_PATHS, NotReadyError
from sarathi.orders.api import build_router
from sarathi.orders.service import OrdersService
from sarathi.orders.settings import OrdersSettings


def join_clock_holds(hooks: HoldHooks, service: OrdersService) -> None:
    """The held day (sim mode): done with T once every order update the sim sent is handled and
    the outbox it filled is published (`sarathi.common.clock_hold`)."""

    def updates(held: ClockHeld) -> str | None:
        behind = held.frames.get("order_update", 0) - service.updates.frames
        return f"{behind} order update(s) not handled" if behind > 0 else None

    def outbox(_: ClockHeld) -> str | None:
        return "outbox not yet published" if service.publisher.busy else None

    hooks.checks["order_updates"] = updates
    hooks.checks["outbox"] = outbox


def build_app(settings: OrdersSettings) -> FastAPI:
    metrics = ServiceMetrics("orders")
    holder: dict[str, OrdersService] = {}

    @asynccontextmanager
    async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            clock = await stack.enter_async_context(
                running_clock(settings.mode, infrastructure.bus, service="orders")
            )
            service = OrdersService(settings, infrastructure.bus, infrastructure.engine, clock, metrics)
            if isinstance(clock, SimClock):
                join_clock_holds(clock.hooks, service)
            await stack.enter_async_context(service.running())
            holder["service"] = service
            try:
                yield
            finally:
                holder.pop("service", None)

    async def working() -> None:
        service = holder.get("service")
        if service is None:
            raise NotReadyError("orders has not started")
        await service.ready()

    app, _ = build_service_app(
        service="orders",
        settings=settings,
        database=True,
        description="The broker gateway: exactly-once orders, order updates, reconciliation.",
        metrics=metrics,
        workers=workers,
        checks={"orders": working},
        control_token=settings.orders_control_token,
        open_paths=OPEN_PATHS | {"/status"},  # read by `sarathi chaos` without a token
    )
    app.include_router(
        build_router(
            lambda: holder.get("service"),
            settings.orders_kill_activates_kill_switch,
        )
    )
    return app
