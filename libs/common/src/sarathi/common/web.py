"""The FastAPI app factory every service uses: `/healthz`, `/readyz`, `/metrics`, and a runner.

- `/healthz`: the process is alive and serving (liveness; no dependencies checked).
- `/readyz`: every readiness check passes (its NATS connection, its database, what the service
  needs to do its job...), each within a timeout; 503 with each check's result otherwise ("ok",
  or the reason: a `NotReadyError`'s message as is, any other error with its type).
- `/metrics`: the service's own Prometheus registry, in the text exposition format.

With a control token (`create_app(control_token=...)`, risk's and orders' operator routes) every
other route sits behind `ControlGate`, an ASGI middleware that answers before the app sees the
request: a missing or wrong bearer token gets 401 before a byte of the body is read, and a body
over `MAX_BODY_BYTES` gets 413 without the rest being read (its declared length, or once a
streamed body passes the limit). Every app answers a body that fails validation with a 422 that
names what is wrong and where, never the input itself.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sarathi.common.logging import get_logger
from sarathi.common.metrics import ServiceMetrics

log = get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
"""Returns when the dependency is usable; raises with a readable reason when it is not."""


class NotReadyError(Exception):
    """A readiness check's answer in words a trader reads as is (`/readyz` shows only the message)."""


READINESS_TIMEOUT_SECONDS = 2.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"timed out after {READINESS_TIMEOUT_SECONDS:.0f}s"
    except NotReadyError as exc:
        return str(exc) or "not ready"
    except Exception as exc:  # a readiness probe reports any failure, it never raises
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "ok"


MAX_BODY_BYTES = 16 * 1024
"""The largest request body a gated app reads (its operator calls carry a short reason)."""
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"})
"""Routes a gated app serves without the token: probes, metrics and the API's own description."""
GATE_PASSED = "sarathi.gate_passed"
"""The ASGI scope key `ControlGate` sets on a request whose bearer token it accepted."""
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _json_reply(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=dict(headers or {}))


class _BodyTooLargeError(Exception):
    pass


class ControlGate:
    """ASGI middleware: the bearer token first, then a body of at most `max_body_bytes`.

    For every HTTP request but those to `open_paths`: `Authorization: Bearer <token>` is compared
    in constant time, and a missing or wrong one (or no token configured) gets 401 at once, the
    body unread. Then, for every request, a declared `Content-Length` over the limit gets 413 at
    once, and the body is read up to the limit (a streamed one that passes it gets 413 there, the
    rest unread) and handed to the app.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: SecretStr,
        open_paths: Collection[str] = OPEN_PATHS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._app = app
        self._token = token.get_secret_value().encode()
        self._open = frozenset(open_paths)
        self._max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if scope["path"] not in self._open:
            if not self._authorized(headers.get("authorization", b"")):
                reply = _json_reply(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
                await reply(scope, receive, send)
                return
            scope = {**scope, GATE_PASSED: True}
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max):
            reply = (
                _json_reply(413, f"body too large (at most {self._max} bytes)")
                if declared.isdigit()
                else _json_reply(400, "Content-Length is not a number")
            )
            await reply(scope, receive, send)
            return
        try:
            body = await self._read(receive)
        except _BodyTooLargeError:
            await _json_reply(413, f"body too large (at most {self._max} bytes)")(scope, receive, send)
            return
        if body is None:
            return  # the client went away
        await self._app(scope, _replay(body, receive), send)

    def _authorized(self, header: bytes) -> bool:
        scheme, _, given = header.partition(b" ")
        if not self._token or scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(given.strip(), self._token)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max:
                raise _BodyTooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def gate_passed(request: Request) -> None:
    """A dependency for gated routes: 401 unless `ControlGate` accepted this request's token (so a
    router mounted on an app without the gate is closed, not open)."""
    if request.scope.get(GATE_PASSED) is not True:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})


def _where(error: Mapping[str, Any]) -> list[str | int]:
    """A validation error's location without what the caller chose: the name of an unknown field
    is input (replaced), and so is any part that is not a plain field name or index."""
    loc = error.get("loc")
    parts: list[str | int] = [
        p if isinstance(p, int) or (isinstance(p, str) and _FIELD_NAME.fullmatch(p)) else "(field)"
        for p in (loc if isinstance(loc, list | tuple) else ())
    ]
    if error.get("type") == "extra_forbidden" and parts:
        parts[-1] = "(unknown field)"
    return parts


async def validation_error_without_input(_: Request, exc: Exception) -> Response:
    """422 naming each problem and where it is, never the input (FastAPI's own answer repeats
    it, which echoes whatever was sent, and a JSON `Infinity` in it cannot even be rendered)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"type": str(e.get("type", "")), "loc": _where(e), "msg": str(e.get("msg", ""))[:200]} for e in errors
    ]
    return Response(json.dumps({"detail": detail}), status_code=422, media_type="application/json")


def protect(app: FastAPI, token: SecretStr, *, open_paths: Collection[str] = OPEN_PATHS) -> None:
    """Put `app` behind a `ControlGate` and answer validation errors without their input."""
    app.add_middleware(ControlGate, token=token, open_paths=open_paths)
    app.add_exception_handler(RequestValidationError, validation_error_without_input)


def create_app(
    *,
    service: str,
    metrics: ServiceMetrics,
    checks: Mapping[str, ReadinessCheck],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    version: str = "0.1.0",
    description: str = "",
    control_token: SecretStr | None = None,
    open_paths: Collection[str] = OPEN_PATHS,
) -> FastAPI:
    """A FastAPI app with the three operational endpoints; the service adds its own routes.

    With `control_token`, every route but `open_paths` needs it (`ControlGate`)."""
    app = FastAPI(title=f"sarathi-{service}", version=version, description=description, lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_error_without_input)
    if control_token is not None:
        protect(app, control_token, open_paths=open_paths)

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
