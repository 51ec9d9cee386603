"""The `Bus` port: what services depend on, whatever carries the messages.

Two transports behind one interface (ARCHITECTURE §3):
- core NATS (`publish`, `subscribe`, `request`, `serve`): ephemeral, at-most-once; ticks and the
  feed's request/reply;
- JetStream (`publish_durable`, `consume`): stored, de-duplicated by `Nats-Msg-Id` = the message's
  `message_id`, consumed by durable consumers that ack only after the handler returns.

Plus the `control` KV bucket (`kv_put`, `kv_get`, `kv_watch`). Adapters: `NatsBus`, `InMemoryBus`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sarathi.common.bus.streams import CONTROL_BUCKET
from sarathi.common.messages.base import Message

Handler = Callable[[Message], Awaitable[None]]
"""Receives one decoded message; raising means "not handled" (durable: redelivered later)."""

ReplyHandler = Callable[[Message], Awaitable[Message]]
"""Answers one decoded request with a reply message."""


class BusError(Exception):
    """Base of the bus's own errors."""


class RequestTimeoutError(BusError):
    """No reply arrived within the timeout."""


class NoRespondersError(BusError):
    """Nobody serves the requested subject."""


class RequestFailedError(BusError):
    """The server received the request but could not answer it (undecodable or handler error)."""


class NoStreamError(BusError):
    """A durable publish to a subject no stream stores (did `ensure_streams` run?)."""


class NoBucketError(BusError):
    """A KV operation on a bucket that does not exist (did `ensure_streams` run?)."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """Where a durable publish was stored; `duplicate` when its message id was already stored."""

    stream: str
    sequence: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class KvEntry:
    """One value of a KV key and its revision (increasing with every put)."""

    key: str
    value: bytes
    revision: int


@dataclass(frozen=True, slots=True)
class ConsumerOptions:
    """Redelivery policy of a durable consumer.

    - `ack_wait_seconds`: unacked for this long (e.g. the process died) → redelivered. While a
      handler runs, the NATS adapter tells the server it is still in progress.
    - `max_deliver`: a message that fails this many times is dead-lettered.
    - `backoff_seconds`: delay before redelivery after the n-th failure (last value repeats).
    - `max_ack_pending`: messages in flight at once; 1 (default) keeps strict stream order, so a
      failing message holds back the ones behind it until it succeeds or is dead-lettered.
    """

    ack_wait_seconds: float = 30.0
    max_deliver: int = 5
    backoff_seconds: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0)
    max_ack_pending: int = 1

    def __post_init__(self) -> None:
        if self.ack_wait_seconds <= 0 or self.max_deliver < 1 or self.max_ack_pending < 1:
            raise ValueError(f"invalid consumer options {self}")
        if not self.backoff_seconds or min(self.backoff_seconds) < 0:
            raise ValueError("backoff_seconds must be non-empty and non-negative")

    def backoff_for(self, delivery: int) -> float:
        """Delay before redelivering a message whose `delivery`-th attempt failed (1-based)."""
        return self.backoff_seconds[min(max(delivery, 1), len(self.backoff_seconds)) - 1]


class Subscription(Protocol):
    """A running subscription, server or consumer; `stop` ends it (in-flight work is not acked)."""

    async def stop(self) -> None: ...


class Bus(Protocol):
    """The message bus as services see it."""

    @property
    def is_connected(self) -> bool:
        """True while the bus can carry messages (readiness)."""
        ...

    async def publish(self, subject: str, msg: Message) -> None:
        """Core, fire-and-forget publish (ticks). No subscriber → the message is gone."""
        ...

    async def subscribe(self, subject: str, handler: Handler) -> Subscription:
        """Core subscription (wildcards allowed); undecodable payloads are logged and dropped."""
        ...

    async def request(self, subject: str, msg: Message, timeout_seconds: float) -> Message:
        """Send a request and return the decoded reply.

        Raises `RequestTimeoutError`, `NoRespondersError` or `RequestFailedError`.
        """
        ...

    async def serve(self, subject: str, handler: ReplyHandler) -> Subscription:
        """Answer requests on `subject` with `handler`'s reply."""
        ...

    async def publish_durable(self, subject: str, msg: Message) -> PublishResult:
        """Store `msg` in the stream covering `subject`, de-duplicated by `msg.message_id`."""
        ...

    async def consume(
        self,
        stream: str,
        durable_name: str,
        filter_subject: str,
        handler: Handler,
        options: ConsumerOptions | None = None,
    ) -> Subscription:
        """Run a durable consumer until stopped; it resumes where `durable_name` left off.

        Ack only after `handler` returns. Undecodable payload → dead-lettered to
        `dlq.<subject>` and terminated. Handler error → redelivered after a backoff; after
        `max_deliver` failures → dead-lettered.
        """
        ...

    async def ensure_streams(self) -> None:
        """Create or update every stream and KV bucket (idempotent)."""
        ...

    async def kv_put(self, key: str, value: bytes, *, bucket: str = CONTROL_BUCKET) -> int:
        """Set `key`; returns the new revision."""
        ...

    async def kv_get(self, key: str, *, bucket: str = CONTROL_BUCKET) -> KvEntry | None:
        """The current value of `key`, or None if it was never set."""
        ...

    def kv_watch(self, key: str, *, bucket: str = CONTROL_BUCKET) -> AsyncIterator[KvEntry]:
        """The current value of `key` (if any), then every later value, until closed.

        An async generator: close it (`contextlib.aclosing`) or cancel its task to stop watching.
        """
        ...

    async def close(self) -> None:
        """Stop every subscription and consumer, then disconnect."""
        ...
