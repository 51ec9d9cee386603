"""The order-update WebSocket client (REFERENCE §5): login, parse, record, reconnect, re-read.

- Login is the first frame, `{"LoginReq": {"MsgCode": 42, "ClientId", "Token"}, "UserType": "SELF"}`;
  Dhan sends no acknowledgement, so a bad login shows only as the socket closing.
- Frames are parsed leniently (`parse_order_update_frame`: several JSON objects per frame,
  numbers as strings, any status casing, keys PascalCase as documented or camelCase as seen
  live); a frame that still cannot be read is logged with its raw text (the first
  `RAW_LOG_CHARS`, secrets redacted by the logger) and skipped, and the books are re-read, since
  it may have carried a fill.
- After every (re)connect, once the login has had `reread_delay_seconds` to take effect, the
  order book and trade book are re-read (`on_connected`): whatever happened while we were away,
  or in the instant before the login, is recorded from there.
- Disconnects reconnect with capped exponential backoff and jitter; a connection that stayed up
  for a while resets the backoff.
- `frames` counts the frames read, for the whole process (across reconnects), each once its
  handling has finished: every alert recorded (its events committed to the outbox), skipped as
  unmappable or, failing to record, left to the re-read; or the frame skipped as unparseable.
  A frame whose handling is cancelled (the socket restarted under it) is not counted. In sim mode
  the held day's clock protocol (and `sarathi chaos`) compare it with the frames the sim sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from sarathi.common.backoff import Backoff
from sarathi.common.dhan.schemas import VenueSchemaError, parse_order_update_frame
from sarathi.common.logging import get_logger
from sarathi.orders.adapters.mapping import UnmappableReportError, order_from_alert
from sarathi.orders.domain.model import BrokerOrder
from sarathi.orders.waiting import wait_event

log = get_logger(__name__)

LOGIN_MSG_CODE = 42
RAW_LOG_CHARS = 2000
STABLE_CONNECTION_SECONDS = 30.0


def login_frame(client_id: str, token: str) -> str:
    return json.dumps(
        {"LoginReq": {"MsgCode": LOGIN_MSG_CODE, "ClientId": client_id, "Token": token}, "UserType": "SELF"}
    )


class OrderUpdateClient:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        token: Callable[[], str],
        on_report: Callable[[BrokerOrder], Awaitable[None]],
        on_connected: Callable[[], Awaitable[None]],
        backoff: Backoff | None = None,
        reread_delay_seconds: float = 0.5,
        on_reconnect: Callable[[], None] = lambda: None,
        on_alert: Callable[[], None] = lambda: None,
    ) -> None:
        self._url = url
        self._client_id = client_id
        self._token = token
        self._on_report = on_report
        self._on_connected = on_connected
        self._backoff = backoff or Backoff(initial_seconds=0.5, cap_seconds=30.0)
        self._reread_delay = reread_delay_seconds
        self._on_reconnect = on_reconnect
        self._on_alert = on_alert
        self._restart = asyncio.Event()
        self.connections = 0
        self.frames = 0
        self.connected = asyncio.Event()  # logged in: the login frame sent and the socket still open
        self.last_error: str | None = None  # why the latest session ended (None: none ended yet)
        self._background: set[asyncio.Task[None]] = set()

    def reconnect(self) -> None:
        """Drop the current connection and log in again (e.g. with a renewed token)."""
        self._restart.set()

    async def run(self) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self._session()
                if not self._restart.is_set():  # Dhan sends no login reply: a refused login ends so
                    self.last_error = "Dhan closed the socket (a refused login looks like this)"
            except (OSError, WebSocketException, TimeoutError) as exc:
                log.warning("order_update_disconnected", error=repr(exc)[:200])
                self.last_error = (str(exc) or type(exc).__name__)[:200]
            finally:
                self.connected.clear()
            failures = 0 if time.monotonic() - started > STABLE_CONNECTION_SECONDS else failures + 1
            delay = self._backoff.delay(max(failures, 1), random.random())  # noqa: S311 - jitter
            await wait_event(self._restart, delay)

    async def _session(self) -> None:
        self._restart.clear()
        async with connect(self._url, open_timeout=10, ping_interval=10, ping_timeout=30) as socket:
            await socket.send(login_frame(self._client_id, self._token()))
            self.connections += 1
            if self.connections > 1:
                self._on_reconnect()
            log.info("order_update_connected", connections=self.connections)
            reader = asyncio.create_task(self._read(socket))
            restart = asyncio.create_task(self._restart.wait())
            reread = asyncio.create_task(self._reread_after_login())
            try:
                await asyncio.wait({reader, restart}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reader, restart, reread):
                    task.cancel()
                for task in (reader, restart, reread):
                    with contextlib.suppress(asyncio.CancelledError, Exception):  # reader's error: below
                        await task
            if reader.done() and not reader.cancelled() and (error := reader.exception()) is not None:
                raise error

    async def _read(self, socket: ClientConnection) -> None:
        async for frame in socket:
            await self._frame(frame)

    async def _reread_after_login(self) -> None:
        await asyncio.sleep(self._reread_delay)
        self.connected.set()
        await self._reread()

    async def _reread(self) -> None:
        try:
            await self._on_connected()
        except Exception:  # the periodic reconciliation will catch up
            log.exception("order_update_reread_failed")

    async def _frame(self, frame: str | bytes) -> None:
        try:
            alerts = parse_order_update_frame(frame)
        except VenueSchemaError as exc:
            raw = frame.decode(errors="replace") if isinstance(frame, bytes) else frame
            log.warning("order_update_frame_unparsed", error=str(exc)[:300], raw=raw[:RAW_LOG_CHARS])
            task = asyncio.get_running_loop().create_task(self._reread())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            self.frames += 1
            return
        for alert in alerts:
            self._on_alert()
            try:
                report = order_from_alert(alert)
            except UnmappableReportError as exc:
                log.info("order_update_alert_skipped", reason=str(exc))
                continue
            try:
                await self._on_report(report)
            except Exception:  # the database hiccupped: the re-read / reconciliation will record it
                log.exception("order_update_record_failed", order=report.broker_order_id)
        self.frames += 1  # only now: each recorded alert's outbox rows are committed
