"""One socket's outgoing messages: a queue drained by the socket's writer task.

Producers (the engine's fan-out, the broker's alert listener) never wait on a slow client: they
append to the outbox and return. A client that falls `max_messages` behind is closed (the sim's
stand-in for Dhan dropping a consumer that does not read). `close()` queues a final message and
the close itself, after which nothing more is accepted, so a disconnect packet is always the
last thing the client receives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect

from sarathi.common.logging import get_logger

log = get_logger(__name__)

NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


DISCONNECT_GRACE_SECONDS = 1.0
"""After a disconnect packet, how long the client may still read it before the server closes.

Without it a client that is still sending (the SDK subscribes right after connecting) can hit
the closed socket before it ever reads the packet that says why (UNVERIFIED how long Dhan waits).
"""


@dataclass(frozen=True, slots=True)
class Close:
    """The writer closes the socket with `code` when it reaches this item, after `grace_seconds`."""

    code: int
    reason: str = ""
    grace_seconds: float = 0.0


Item = bytes | str | Close

# What sending to or receiving from a socket the client already dropped raises.
_GONE = (WebSocketDisconnect, OSError, RuntimeError)


class Outbox:
    def __init__(self, max_messages: int) -> None:
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._max = max_messages
        self.closing: Close | None = None

    def __len__(self) -> int:
        return self._queue.qsize()

    def put(self, item: bytes | str) -> bool:
        """Queue one message; False when the socket is closing (the message is dropped)."""
        if self.closing is not None:
            return False
        if self._queue.qsize() >= self._max:
            self.close(TRY_AGAIN_LATER, "client too slow")
            return False
        self._queue.put_nowait(item)
        return True

    def close(self, code: int, reason: str = "", last: bytes | str | None = None) -> None:
        """Send `last` (if any), then close with `code`; later calls are ignored.

        With a `last` message the close waits `DISCONNECT_GRACE_SECONDS` (or for the client).
        """
        if self.closing is not None:
            return
        grace = 0.0
        if last is not None:
            self._queue.put_nowait(last)
            grace = DISCONNECT_GRACE_SECONDS
        self.closing = Close(code, reason, grace)
        self._queue.put_nowait(self.closing)

    async def get(self) -> Item:
        return await self._queue.get()


FrameHandler = Callable[[str | bytes], None]


async def _write(websocket: WebSocket, outbox: Outbox) -> None:
    while True:
        item = await outbox.get()
        if isinstance(item, Close):
            if item.grace_seconds > 0:  # the reader ends this wait early if the client leaves
                await asyncio.sleep(item.grace_seconds)
            await websocket.close(item.code, item.reason)
            return
        if isinstance(item, bytes):
            await websocket.send_bytes(item)
        else:
            await websocket.send_text(item)


async def _read(websocket: WebSocket, on_frame: FrameHandler) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is not None:
            try:
                on_frame(data)
            except Exception:  # a bug handling one frame must not end the socket or the server
                log.exception("ws_frame_handler_failed")


async def pump(websocket: WebSocket, outbox: Outbox, on_frame: FrameHandler) -> None:
    """Run the socket until either side ends it: frames in to `on_frame`, the outbox out.

    The client going away ends the writer; the writer closing the socket ends the reader.
    """
    reader = asyncio.create_task(_read(websocket, on_frame), name="ws-read")
    writer = asyncio.create_task(_write(websocket, outbox), name="ws-write")
    try:
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            task.cancel()
        for task in (reader, writer):
            with contextlib.suppress(asyncio.CancelledError, *_GONE):
                await task
