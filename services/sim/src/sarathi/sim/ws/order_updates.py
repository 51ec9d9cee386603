"""The order-update WebSocket at `/order-update` (REFERENCE §5, Appendix A.15).

The client's first frame must be the login
`{"LoginReq": {"MsgCode": 42, "ClientId": ..., "Token": ...}, "UserType": "SELF"}`; anything
else (wrong client, bad or expired token, a partner login, no frame within the login timeout)
closes the socket with 1008. Dhan documents no acknowledgement, so none is sent (UNVERIFIED).

Then every alert of the paper broker goes to every logged-in socket as
`{"Type": "order_alert", "Data": {...}}`, one JSON object per message, with `Status` and the keys
of `Data` spelled as configured (`SARATHI_SIM_ORDER_UPDATE_STATUS_CASE`, `..._KEYS`: the docs'
PascalCase `OrderNo`, or the camelCase `orderNo` that the official SDK's handler reads and a
platform trading live on Dhan saw in 2026; the envelope's `Type` and `Data` stay as the SDK
reads them). While the `pause_order_updates` fault is active, alerts are held and delivered, in
order, when it ends (wall time, as the fault is defined). Alerts that arrive while nobody is
connected are gone, as at Dhan.

One alert is one frame: the broker emits one alert per order state change and per fill (an
exit leg's price or quantity change included), and the hub renders each into exactly one text
frame for each socket logged in when it is delivered (never batched, never split).
`OrderUpdateHub.frames_sent` counts those frames, once per (socket, frame), since the sim
started; `GET /sim/progress` shows it, so a client that counts the frames it received can tell
when it has seen everything sent so far.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, WebSocket

from sarathi.common.logging import get_logger
from sarathi.sim.api.auth import Credentials
from sarathi.sim.broker.config import StatusCase
from sarathi.sim.broker.port import OrderAlert
from sarathi.sim.faults import Faults
from sarathi.sim.settings import OrderUpdateKeys
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws.outbox import POLICY_VIOLATION, Outbox, pump

log = get_logger(__name__)

ORDER_UPDATE_PATH = "/order-update"
LOGIN_MSG_CODE = 42


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # Dhan's alerts carry JSON numbers for prices
    return str(value)


def render(alert: OrderAlert, case: StatusCase, keys: OrderUpdateKeys = OrderUpdateKeys.PASCAL) -> str:
    """The wire message of one alert (its keys arrive PascalCase, as the docs spell them)."""
    data = dict(alert)
    status = data.get("Status")
    if isinstance(status, str):
        data["Status"] = status.title() if case is StatusCase.TITLE else status.upper()
    if keys is OrderUpdateKeys.CAMEL:
        data = {key[:1].lower() + key[1:]: value for key, value in data.items()}
    return json.dumps({"Type": "order_alert", "Data": data}, default=_json_default)


def login_ok(frame: str | bytes, credentials: Credentials) -> bool:
    """Whether `frame` is a valid SELF login for the sim's client and (unexpired) token."""
    try:
        raw = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return False
    login = raw.get("LoginReq") if isinstance(raw, dict) else None
    if not isinstance(login, dict) or raw.get("UserType") != "SELF":
        return False
    token = login.get("Token")
    return (
        login.get("MsgCode") == LOGIN_MSG_CODE
        and str(login.get("ClientId")) == credentials.client_id
        and isinstance(token, str)
        and credentials.token_is_valid(token)
    )


class OrderUpdateHub:
    """Logged-in sockets and the alerts held back by the pause fault.

    One alert becomes one frame per logged-in socket. `frames_sent` counts the frames handed to
    sockets' outboxes, once per (socket, frame): a held alert counts when it is released, not
    when it is held; an alert with no socket, or refused by a socket that is closing (or too
    slow), counts nothing.
    """

    def __init__(
        self,
        faults: Faults,
        metrics: SimMetrics,
        status_case: StatusCase,
        *,
        keys: OrderUpdateKeys = OrderUpdateKeys.PASCAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._faults = faults
        self._metrics = metrics
        self._case = status_case
        self._keys = keys
        self._monotonic = monotonic
        self._outboxes: list[Outbox] = []
        self._frames_sent = 0
        self._held: deque[str] = deque()
        self._release: asyncio.TimerHandle | None = None
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._outboxes)

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def frames_sent(self) -> int:
        """Frames handed to sockets since the sim started (or since its state began, when the
        state is kept across restarts: `persistence`), once per (socket, frame)."""
        return self._frames_sent

    def restore_frames_sent(self, frames: int) -> None:
        """Continue the count of a persisted state."""
        self._frames_sent = frames

    def _connections_changed(self) -> None:
        self._metrics.order_update_connections.set(len(self._outboxes))
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for_connections(self, count: int) -> None:
        """Return once at least `count` sockets are logged in (Dhan sends no login ack to wait on)."""
        while len(self._outboxes) < count:
            await self._changed.wait()

    def add(self, outbox: Outbox) -> None:
        self._outboxes.append(outbox)
        self._connections_changed()

    def remove(self, outbox: Outbox) -> None:
        if outbox in self._outboxes:
            self._outboxes.remove(outbox)
        self._connections_changed()

    def close_all(self) -> None:
        """The token expired: every logged-in socket is closed (no documented packet; UNVERIFIED)."""
        for outbox in self._outboxes:
            outbox.close(POLICY_VIOLATION, "access token expired")
        self._outboxes.clear()
        self._connections_changed()

    def _paused_for(self) -> float:
        return self._faults.order_updates_paused_until - self._monotonic()

    def on_alert(self, alert: OrderAlert) -> None:
        """The broker's listener: deliver now, or hold while paused (keeping order).

        Call it on the event loop (the broker runs there: engine steps and trading requests).
        """
        message = render(alert, self._case, self._keys)
        if self._held or self._paused_for() > 0:
            self._held.append(message)
            self._metrics.order_updates_held.set(len(self._held))
            self.reschedule()
            return
        self._deliver(message)

    def _deliver(self, message: str) -> None:
        for outbox in self._outboxes:
            if outbox.put(message):
                self._frames_sent += 1
                self._metrics.order_updates.inc()

    def reschedule(self) -> None:
        """Release held alerts now if the pause is over, else when it ends (call after any fault)."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if not self._held:
            return
        remaining = self._paused_for()
        if remaining <= 0:
            self._flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the next alert or fault releases them
            return
        self._release = loop.call_later(remaining, self.reschedule)

    def _flush(self) -> None:
        while self._held:
            self._deliver(self._held.popleft())
        self._metrics.order_updates_held.set(0)


def build_order_update_router(
    hub: OrderUpdateHub, credentials: Credentials, *, login_timeout_seconds: float, max_queued_messages: int
) -> APIRouter:
    router = APIRouter()

    @router.websocket(ORDER_UPDATE_PATH)
    async def order_update(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            first = await asyncio.wait_for(websocket.receive(), timeout=login_timeout_seconds)
        except TimeoutError:
            await websocket.close(POLICY_VIOLATION, "no login")
            return
        if first["type"] == "websocket.disconnect":
            return
        frame = first.get("text") or first.get("bytes") or ""
        if not login_ok(frame, credentials):
            log.info("order_update_login_refused")
            await websocket.close(POLICY_VIOLATION, "login refused")
            return
        outbox = Outbox(max_queued_messages)
        hub.add(outbox)
        log.info("order_update_connected", open_connections=len(hub))
        try:
            await pump(websocket, outbox, lambda _: None)
        finally:
            hub.remove(outbox)
            log.info("order_update_disconnected", open_connections=len(hub))

    return router
