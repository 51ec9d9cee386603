"""One HTTP request straight into an ASGI app, with a body the test controls to the byte.

`send_request(app, "POST", "/kill", headers=..., chunks=[...], then_stall=True)` hands the app the
chunks one `receive()` at a time and then, with `then_stall`, never finishes the body (a client
that keeps the request open), so a test can tell whether the app answered without reading it all.
It reports the status, the response body and how many chunks the app asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    chunks_read: int


async def send_request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    chunks: Sequence[bytes] = (),
    then_stall: bool = False,
    within_seconds: float = 5.0,
) -> Reply:
    """Send one request; raises TimeoutError if the app has not answered within the time."""
    if not chunks and not then_stall:
        chunks = [b""]  # a request without a body: one empty message, as servers send
    read = 0
    never = asyncio.Event()
    answered = asyncio.Event()
    status = 0
    body = bytearray()

    async def receive() -> Message:
        nonlocal read
        if read < len(chunks):
            read += 1
            more = then_stall or read < len(chunks)
            return {"type": "http.request", "body": chunks[read - 1], "more_body": more}
        if then_stall and not answered.is_set():
            await never.wait()  # the body never ends
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def serve() -> None:
        await app(scope, receive, send)

    task = asyncio.create_task(serve())
    try:
        async with asyncio.timeout(within_seconds):
            await answered.wait()
    finally:
        never.set()
        answered.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return Reply(status, bytes(body), read)
