"""The FastAPI app factory every service uses: `/healthz`, `/readyz`, `/metrics`, and a runner.

- `/healthz`: the process is alive and serving (liveness; no dependencies checked).
- `/readyz`: every readiness check passes (its NATS connection, its database...), each within a
  timeout; 503 with the failing check's reason otherwise.
- `/metrics`: the service's own Prometheus registry, in the text exposition format.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sarathi.common.logging import get_logger
from sarathi.common.metrics import ServiceMetrics

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""Returns when the dependency is usable; raises with a readable reason when it is not."""

READINESS_TIMEOUT_SECONDS = 2.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"timed out after {READINESS_TIMEOUT_SECONDS:.0f}s"
    except Exception as exc:  # a readiness probe reports any failure, it never raises
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "ok"


def create_app(
    *,
    service: str,
    metrics: ServiceMetrics,
    checks: Mapping[str, ReadinessCheck],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    version: str = "0.1.0",
    description: str = "",
) -> FastAPI:
    """A FastAPI app with the three operational endpoints; the service adds its own routes."""
    app = FastAPI(title=f"sarathi-{service}", version=version, description=description, lifespan=lifespan)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        names = list(checks)
        results = await asyncio.gather(*(_run_check(checks[name]) for name in names))
        outcome = dict(zip(names, results, strict=True))
        ready = all(result == "ok" for result in results)
        metrics.up.set(1 if ready else 0)
        body: dict[str, Any] = {
            "status": "ready" if ready else "not ready",
            "service": service,
            "checks": outcome,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


class Server(uvicorn.Server):
    """uvicorn's server, except that SIGTERM or SIGINT stops it during start-up too.

    uvicorn only notes a signal and looks at the note once start-up is over, so a lifespan still
    waiting for something (NATS unreachable: nats-py retries the first connection for ever) would
    ignore both signals and need SIGKILL. Here a signal before start-up is over cancels the
    start-up: what the lifespan entered is left through its `finally` blocks and the process exits.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._serving: asyncio.Task[None] | None = None
        self._stopped_starting: int | None = None
        config.app = self._quiet_when_stopped_starting(config.app)

    def _quiet_when_stopped_starting(self, app: Any) -> Any:
        """The app, except that a start-up cancelled by a signal is not reported as a failure."""

        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            async def sending(message: Any) -> None:
                if message["type"] == "lifespan.startup.failed" and self._stopped_starting is not None:
                    message = {"type": "lifespan.startup.failed", "message": ""}  # asked for, not failed
                await send(message)

            await app(scope, receive, sending if scope["type"] == "lifespan" else send)

        return wrapped

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._serving = asyncio.current_task()
        try:
            await super().serve(sockets)
        except asyncio.CancelledError:
            if self._stopped_starting is None:
                raise
            log.warning("stopped before start-up was over", signal=self._stopped_starting)

    def _lifespan_starting(self) -> bool:
        """Whether the app's start-up has not finished (once it has, uvicorn stops by itself)."""
        finished = getattr(getattr(self, "lifespan", None), "startup_event", None)
        return not self.started and (finished is None or not finished.is_set())

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._lifespan_starting() and self._serving is not None and self._stopped_starting is None:
            self._stopped_starting = sig
            # A signal handler runs between two bytecodes of the loop: schedule, do not act here.
            self._serving.get_loop().call_soon_threadsafe(self._serving.cancel)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the app with uvicorn until SIGINT/SIGTERM (start-up included); logging is ours (JSON)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    Server(config).run()
