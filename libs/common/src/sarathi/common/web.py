"""The FastAPI app factory every service uses: `/healthz`, `/readyz`, `/metrics`, and a runner.

- `/healthz`: the process is alive and serving (liveness; no dependencies checked).
- `/readyz`: every readiness check passes (its NATS connection, its database...), each within a
  timeout; 503 with the failing check's reason otherwise.
- `/metrics`: the service's own Prometheus registry, in the text exposition format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sarathi.common.metrics import ServiceMetrics

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


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the app with uvicorn until SIGINT/SIGTERM; logging is ours (JSON), not uvicorn's."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run()
