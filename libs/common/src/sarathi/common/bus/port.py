"""The `Bus` port: what services depend on, whatever carries the messages.

Two transports behind one interface (ARCHITECTURE §3):
- core NATS (`publish`, `subscribe`, `request`, `serve`): ephemeral, at-most-once; ticks and the
  feed's request/reply;
- JetStream (`publish_durable`, `consume`): stored, de-duplicated by `Nats-Msg-Id` = the message's
  `message_id`, consumed by durable consumers that ack only after the handler returns.

Plus the `control` KV bucket (`kv_put`, `kv_get`, `kv_watch`). Adapters: `NatsBus`, `InMemoryBus`.

Handlers are typed by message: `subscribe`, `serve` and `consume` take `accepts=` (a message class,
or `one_of(A, B, ...)` for a handler of their union), the bus decodes and checks the type once,
and the handler gets only what it accepts. Another type is dead-lettered by a durable consumer,
dropped with a warning by a core subscription, answered with `RequestFailedError` by a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar, overload

from sarathi.common.bus.streams import CONTROL_BUCKET
from sarathi.common.messages.base import Message

M = TypeVar("M", bound=Message)
M1 = TypeVar("M1", bound=Message)
M2 = TypeVar("M2", bound=Message)
M3 = TypeVar("M3", bound=Message)
M4 = TypeVar("M4", bound=Message)
M5 = TypeVar("M5", bound=Message)

Handler: TypeAlias = Callable[[M], Awaitable[None]]
"""Receives one decoded message of its type; raising means "not handled" (durable: redelivered)."""

ReplyHandler: TypeAlias = Callable[[M], Awaitable[Message]]
"""Answers one decoded request of its type with a reply message."""


@dataclass(frozen=True, slots=True)
class OneOf(Generic[M]):
    """The message classes a handler of their union `M` accepts; build it with `one_of`."""

    types: tuple[type[Message], ...]


@overload
def one_of(a: type[M1], b: type[M2], /) -> OneOf[M1 | M2]: ...
@overload
def one_of(a: type[M1], b: type[M2], c: type[M3], /) -> OneOf[M1 | M2 | M3]: ...
@overload
def one_of(a: type[M1], b: type[M2], c: type[M3], d: type[M4], /) -> OneOf[M1 | M2 | M3 | M4]: ...
@overload
def one_of(
    a: type[M1], b: type[M2], c: type[M3], d: type[M4], e: type[M5], /
) -> OneOf[M1 | M2 | M3 | M4 | M5]: ...
def one_of(*types: type[Message]) -> OneOf[Any]:
    """`accepts=one_of(A, B)` for a handler taking `A | B` (mypy checks the handler covers them)."""
    return OneOf(types)


Accepts: TypeAlias = type[M] | OneOf[M]
"""What a handler of `M` accepts: one message class, or `one_of(...)` several."""


def accepted_types(accepts: Accepts[Any]) -> tuple[type[Message], ...]:
    """The classes `accepts` names, for the bus's check (`messages.base.decode_one_of`)."""
    return accepts.types if isinstance(accepts, OneOf) else (accepts,)


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

    async def subscribe(self, subject: str, handler: Handler[M], *, accepts: Accepts[M]) -> Subscription:
        """Core subscription (wildcards allowed); undecodable payloads and messages of a type
        not in `accepts` are logged (expected and got) and dropped: core NATS is at-most-once."""
        ...

    async def request(self, subject: str, msg: Message, timeout_seconds: float) -> Message:
        """Send a request and return the decoded reply.

        Raises `RequestTimeoutError`, `NoRespondersError` or `RequestFailedError`.
        """
        ...

    async def serve(self, subject: str, handler: ReplyHandler[M], *, accepts: Accepts[M]) -> Subscription:
        """Answer requests on `subject` with `handler`'s reply; a request that is undecodable or
        of a type not in `accepts` gets `RequestFailedError` and never reaches `handler`."""
        ...

    async def publish_durable(self, subject: str, msg: Message) -> PublishResult:
        """Store `msg` in the stream covering `subject`, de-duplicated by `msg.message_id`."""
        ...

    async def consume(
        self,
        stream: str,
        durable_name: str,
        filter_subject: str,
        handler: Handler[M],
        options: ConsumerOptions | None = None,
        *,
        accepts: Accepts[M],
    ) -> Subscription:
        """Run a durable consumer until stopped; it resumes where `durable_name` left off.

        Ack only after `handler` returns. Undecodable payload, or a message of a type not in
        `accepts` → dead-lettered to `dlq.<subject>` (the handler never sees it) and
        terminated. Handler error → redelivered after a backoff; after `max_deliver` failures
        → dead-lettered.
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
