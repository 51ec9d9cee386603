"""Core-NATS tick publisher on a connection of its own.

Ticks bypass the `Bus` port: they are already JSON (see `domain.ticks`), and a dedicated
connection keeps a burst of ticks from queueing in front of the service's requests and replies.
`publish` appends to nats-py's pending buffer; its flusher task writes to the socket. Nothing
awaits a flush per tick; JetStream is never involved.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client


class NatsTickSink:
    def __init__(self, client: Client) -> None:
        self._client = client
        self.published = 0  # ticks handed to NATS (the held day's clock protocol)
        self._flushed = 0

    @classmethod
    async def connect(cls, url: str, *, name: str = "sarathi-feed-ticks") -> NatsTickSink:
        client = await nats.connect(
            url,
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            pending_size=64 * 1024 * 1024,  # ticks buffered while NATS reconnects
        )
        return cls(client)

    async def publish(self, subject: str, payload: bytes) -> None:
        await self._client.publish(subject, payload)
        self.published += 1

    async def flush(self) -> None:
        """Until the server has every tick published so far (a no-op when none since the last)."""
        if self.published != self._flushed:
            self._flushed = self.published
            await self._client.flush()

    async def relay(self, subject: str, payload: bytes) -> None:
        """Publish behind every tick sent so far (the held day's clock protocol)."""
        await self._client.publish(subject, payload)

    async def close(self) -> None:
        if not self._client.is_closed:
            await self._client.flush(timeout=2)
            await self._client.close()
