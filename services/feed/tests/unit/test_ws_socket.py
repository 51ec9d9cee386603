"""The picows listener against a real local WebSocket server: batches per socket read, and pings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, serve

from sarathi.feed.adapters.ws import Batch, open_socket


async def test_ticks_that_arrive_with_a_ping_are_handed_on_and_the_ping_is_answered() -> None:
    """A server ping that ends a socket read must not hold that read's frames back until the
    next read (picows's auto-pong hides the ping from the listener, so this once waited)."""
    ponged = asyncio.Event()
    quiet = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"\x01" * 20)
        await ws.send(b"\x02" * 20)
        pong = await ws.ping()
        await pong
        ponged.set()
        await quiet.wait()  # then silence: nothing else would flush a stranded batch

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        queue: asyncio.Queue[Batch | None] = asyncio.Queue()
        socket = await open_socket(
            f"ws://127.0.0.1:{port}/", queue, lambda: datetime.now(UTC), timeout_seconds=5
        )
        try:
            frames: list[bytes] = []
            while len(frames) < 2:
                batch = await asyncio.wait_for(queue.get(), timeout=2)
                assert batch is not None
                frames += batch[0]
            assert frames == [b"\x01" * 20, b"\x02" * 20]
            await asyncio.wait_for(ponged.wait(), timeout=2)
        finally:
            quiet.set()
            socket.disconnect()
