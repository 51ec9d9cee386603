"""Composition root of the sim service: builds everything from settings, connects nothing at import.

`build_app(settings)` gives the FastAPI app:

- `/healthz`, `/readyz`, `/metrics` (the common operational endpoints);
- `/v2/...`: Dhan's REST, data and trading routers (see `routers`);
- `/feed` and `/order-update`: Dhan's two WebSockets;
- `/sim/...`: the control API.

Its lifespan connects NATS (unless `SARATHI_SIM_PUBLISH_CLOCK=false`), then runs the engine and
publishes the clock; in paper mode it also takes the real ticks from NATS (`PaperTicks`), follows
the shared Dhan token (`shared_token`; readiness `token`: the follower runs), and `/feed` is not
served (the feed service connects to Dhan itself). The parts live on
`app.state.sim` (a `SimRuntime`) for tests and tools.
Serve it with `uvicorn_config` so the WebSocket keep-alive matches Dhan's (ping every 10 s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response

from sarathi.common.metrics import ServiceMetrics
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import ReadinessCheck, create_app
from sarathi.sim.api.control import build_control_router
from sarathi.sim.api.errors import install_error_handlers
from sarathi.sim.clock_publisher import BusClockSink, LogClockSink
from sarathi.sim.persistence import StatePersister
from sarathi.sim.runtime import SimParts, SimRuntime, build_runtime
from sarathi.sim.settings import SimSettings
from sarathi.sim.shared_token import following_shared_token
from sarathi.sim.wiring import default_parts, dhan_rest_routers
from sarathi.sim.ws.feed import build_feed_router
from sarathi.sim.ws.order_updates import build_order_update_router

DESCRIPTION = "A local Dhan v2: REST, feed and order-update WebSockets, market model, paper broker."

RestRouters = Callable[[SimRuntime], Sequence[APIRouter]]


def routers(runtime: SimRuntime, rest: RestRouters) -> list[APIRouter]:
    settings = runtime.settings
    queued = settings.sim_feed_queue_max_messages
    feed = (
        []
        if runtime.paper is not None
        else [
            build_feed_router(
                runtime.feed,
                runtime.credentials,
                runtime.metrics,
                max_queued_messages=queued,
                auth_refusal=settings.sim_feed_auth_refusal,
            )
        ]
    )
    return [
        *rest(runtime),
        *feed,
        build_order_update_router(
            runtime.order_updates,
            runtime.credentials,
            login_timeout_seconds=settings.sim_order_update_login_timeout_seconds,
            max_queued_messages=queued,
        ),
        build_control_router(runtime.control),
    ]


def state_checks(runtime: SimRuntime) -> dict[str, ReadinessCheck]:
    """Readiness `state`: the last snapshot was written (only with `SARATHI_SIM_STATE_DIR`)."""
    return {} if runtime.persister is None else {"state": runtime.persister.ready}


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def install_state_saving(app: FastAPI, persister: StatePersister) -> None:
    """After any request that may change state, save a snapshot before the answer leaves: a
    client that got an order id knows the order survives a crash of the sim."""

    @app.middleware("http")
    async def save_after_change(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.method not in READ_ONLY_METHODS:
            await persister.save_if_changed()
        return response


def build_app(
    settings: SimSettings, *, parts: SimParts | None = None, rest: RestRouters = dhan_rest_routers
) -> FastAPI:
    metrics = ServiceMetrics("sim")
    runtime = build_runtime(settings, parts or default_parts(), metrics)

    if settings.sim_publish_clock:
        tasks = BackgroundTasks("sim")

        @asynccontextmanager
        async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
            async with AsyncExitStack() as stack:
                bus = infrastructure.bus
                if runtime.paper is not None:
                    await stack.enter_async_context(runtime.paper.subscribed(bus))
                    await stack.enter_async_context(following_shared_token(runtime, bus, tasks))
                await stack.enter_async_context(runtime.running(BusClockSink(bus)))
                if runtime.holds is not None:  # the held day: the clock protocol's questions
                    await runtime.holds.start(bus)
                    stack.push_async_callback(runtime.holds.stop)
                yield

        app, _ = build_service_app(
            service="sim",
            settings=settings,
            database=False,
            description=DESCRIPTION,
            metrics=metrics,
            workers=workers,
            checks=state_checks(runtime) | ({"token": tasks.ready} if runtime.paper is not None else {}),
        )
    else:

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with runtime.running(LogClockSink()):
                yield

        app = create_app(
            service="sim",
            metrics=metrics,
            checks=state_checks(runtime),
            lifespan=lifespan,
            description=DESCRIPTION,
        )

    install_error_handlers(app)
    if runtime.persister is not None:
        install_state_saving(app, runtime.persister)
    for router in routers(runtime, rest):
        app.include_router(router)
    app.state.sim = runtime
    return app


def uvicorn_config(app: FastAPI, settings: SimSettings, *, port: int | None = None) -> uvicorn.Config:
    """How to serve the sim: Dhan's keep-alive on both sockets, our JSON logs, no access log."""
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        ws="websockets-sansio",
        ws_ping_interval=settings.sim_ws_ping_interval_seconds,
        ws_ping_timeout=settings.sim_ws_ping_timeout_seconds,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
