"""What every service's composition root shares: connect NATS and PostgreSQL inside the app's
lifespan (never at import), expose them as readiness checks, and close them on shutdown.

A service's `app.py` builds an `Infrastructure`, hands `infrastructure.checks()` to
`create_app`, and enters `infrastructure.running()` in its lifespan before starting its own
workers.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from sarathi.common.bus.nats import NatsBus
from sarathi.common.db.engine import create_async_engine, ping
from sarathi.common.domain.holiday_file import HolidayFileError, default_holidays
from sarathi.common.logging import configure_logging, get_logger
from sarathi.common.metrics import ServiceMetrics
from sarathi.common.settings import SarathiSettings, ServiceSettings
from sarathi.common.web import OPEN_PATHS, ReadinessCheck, create_app, serve

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = get_logger(__name__)


class NotStartedError(RuntimeError):
    """The infrastructure was used before `running()` connected it."""


class Infrastructure:
    """The NATS bus and (optionally) the database of one service."""

    def __init__(self, settings: SarathiSettings, service: str, *, database: bool) -> None:
        self._settings = settings
        self._service = service
        self._wants_database = database
        self._bus: NatsBus | None = None
        self._engine: AsyncEngine | None = None

    @property
    def bus(self) -> NatsBus:
        if self._bus is None:
            raise NotStartedError("NATS is not connected yet")
        return self._bus

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise NotStartedError("the database engine is not created yet")
        return self._engine

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Infrastructure]:
        log.info("connecting", nats_url=self._settings.nats_url)
        self._bus = await NatsBus.connect(self._settings.nats_url, name=f"sarathi-{self._service}")
        try:
            await self._bus.ensure_streams()
            if self._wants_database:
                self._engine = create_async_engine(self._settings)
            yield self
        finally:
            if self._engine is not None:
                await self._engine.dispose()
                self._engine = None
            await self._bus.close()
            self._bus = None

    def checks(self) -> dict[str, ReadinessCheck]:
        async def nats_ready() -> None:
            if self._bus is None or not self._bus.is_connected:
                raise ConnectionError("NATS not connected")

        async def database_ready() -> None:
            if self._engine is None:
                raise ConnectionError("database engine not created")
            await ping(self._engine)

        checks: dict[str, ReadinessCheck] = {"nats": nats_ready}
        if self._wants_database:
            checks["database"] = database_ready
        return checks


WorkersFactory = Callable[[Infrastructure], AbstractAsyncContextManager[None]]
"""Starts a service's own workers (consumers, loops) once the infrastructure is up; stops them on exit."""


def build_service_app(
    *,
    service: str,
    settings: SarathiSettings,
    database: bool,
    description: str,
    metrics: ServiceMetrics | None = None,
    workers: WorkersFactory | None = None,
    control_token: SecretStr | None = None,
    open_paths: Collection[str] = OPEN_PATHS,
    checks: Mapping[str, ReadinessCheck] | None = None,
) -> tuple[FastAPI, Infrastructure]:
    """The composition root's common part: infrastructure, lifespan, operational endpoints, and
    with `control_token` the bearer-token gate on every route but `open_paths` (`web.ControlGate`).

    `checks` are the service's own readiness checks, added to its infrastructure's."""
    infrastructure = Infrastructure(settings, service, database=database)
    service_metrics = metrics or ServiceMetrics(service)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with infrastructure.running():
            if workers is None:
                yield
            else:
                async with workers(infrastructure):
                    yield

    app = create_app(
        service=service,
        metrics=service_metrics,
        checks={**infrastructure.checks(), **(checks or {})},
        lifespan=lifespan,
        description=description,
        control_token=control_token,
        open_paths=open_paths,
    )
    return app, infrastructure


S = TypeVar("S", bound=ServiceSettings)


def run_service(service: str, settings_type: type[S], build_app: Callable[[S], FastAPI]) -> None:
    """`python -m sarathi.<service>`: read settings from the environment, log JSON, serve HTTP."""
    try:
        settings = settings_type()
    except ValidationError as exc:
        # Settings errors are the operator's to fix: say which variable, exit non-zero, no traceback.
        sys.stderr.write(f"sarathi-{service}: invalid settings:\n{exc}\n")
        raise SystemExit(2) from None
    try:  # read here, not first in the middle of the lifespan: every calendar the service builds uses it
        default_holidays()
    except HolidayFileError as exc:
        sys.stderr.write(f"sarathi-{service}: {exc}\n")
        raise SystemExit(2) from None
    configure_logging(service, settings.log_level)
    log.info("starting", mode=settings.mode.value, host=settings.http_host, port=settings.http_port)
    serve(build_app(settings), settings.http_host, settings.http_port)
