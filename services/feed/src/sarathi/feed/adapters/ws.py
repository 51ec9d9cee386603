"""The Dhan market-feed socket over picows.

picows was chosen when `make bench` (`feed.ws_client`) measured it 1.6–2.9× aiohttp's frame
rate; the runs of 2026-11-23 and -24 measured 0.54× and 0.61× on the same machine. The choice
is open until that is understood (the feed's ingest still meets its target either way).

`FeedSocket` is picows's listener: binary frames are collected until picows says the read
buffer is exhausted (`last_in_buffer`), then handed on as one batch with one receive time, so
the decoder works on whole socket reads. Fragmented messages are reassembled. Pings are
answered here, not by picows's auto-pong: picows does not show an auto-answered ping to the
listener, so a ping that ended a socket read left that read's ticks waiting for the next one
(seconds, in a quiet market). When the socket ends, a `None` marks the end of the batches.

`open_socket` connects; the URL carries the access token, so nothing here logs it and errors
are re-raised as `SocketOpenError` with the redacted URL only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from picows import WSError, WSFrame, WSHandshakeError, WSListener, WSMsgType, WSTransport, ws_connect

from sarathi.common.logging import redact_text

Batch = tuple[list[bytes], datetime]
PAUSE_AT_BATCHES = 1000  # the processor is this far behind: stop reading (TCP pushes back)
RESUME_AT_BATCHES = 100


class SocketOpenError(Exception):
    """The WebSocket could not be opened; `status` is the HTTP status of a refused handshake."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FeedSocket(WSListener):
    def __init__(self, queue: asyncio.Queue[Batch | None], now: Callable[[], datetime]) -> None:
        super().__init__()
        self._queue = queue
        self._now = now
        self._frames: list[bytes] = []
        self._fragments: list[bytes] | None = None
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        self.paused = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.BINARY:
            if frame.fin:
                self._frames.append(frame.get_payload_as_bytes())
            else:
                self._fragments = [frame.get_payload_as_bytes()]
        elif kind == WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                self._frames.append(b"".join(self._fragments))
                self._fragments = None
        elif kind == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
        elif kind == WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = code.value
            self._hand_on()
            transport.send_close(code)
            transport.disconnect()
            return
        if frame.last_in_buffer:
            self._hand_on()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._hand_on()
        self._queue.put_nowait(None)

    def _hand_on(self) -> None:
        if not self._frames:
            return
        frames, self._frames = self._frames, []
        self._queue.put_nowait((frames, self._now()))
        if not self.paused and self._queue.qsize() >= PAUSE_AT_BATCHES and self.transport is not None:
            self.transport.underlying_transport.pause_reading()
            self.paused = True

    def maybe_resume(self) -> None:
        if self.paused and self._queue.qsize() <= RESUME_AT_BATCHES and self.transport is not None:
            self.transport.underlying_transport.resume_reading()
            self.paused = False

    def send_text(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send(WSMsgType.TEXT, text.encode())

    def disconnect(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()


async def open_socket(
    url: str, queue: asyncio.Queue[Batch | None], now: Callable[[], datetime], *, timeout_seconds: float
) -> FeedSocket:
    """Connect to `url` (token inside: never logged) and return the listener."""
    try:
        _, listener = await asyncio.wait_for(
            ws_connect(
                lambda: FeedSocket(queue, now),
                url,
                websocket_handshake_timeout=timeout_seconds,
                enable_auto_pong=False,  # answered in `FeedSocket.on_ws_frame` (module docstring)
                logger_name="sarathi.feed.ws",
            ),
            timeout_seconds * 2,
        )
    except WSHandshakeError as exc:
        status = getattr(getattr(exc, "response", None), "status", None)
        raise SocketOpenError(
            f"handshake refused: {redact_text(str(exc))}", int(status) if status else None
        ) from None
    except (WSError, OSError, TimeoutError) as exc:
        raise SocketOpenError(f"cannot connect: {type(exc).__name__}: {redact_text(str(exc))}") from None
    if not isinstance(listener, FeedSocket):  # pragma: no cover - the factory above builds one
        raise SocketOpenError("unexpected listener type")
    return listener
