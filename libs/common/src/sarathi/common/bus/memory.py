"""`InMemoryBus`: the `Bus` port without a server, for unit tests. asyncio only, deterministic.

An `InMemoryBroker` plays the server (streams, durable consumer positions, KV, subscribers); one
or more `InMemoryBus` clients share it, as services share one NATS. Semantics follow NATS:

- every message goes through `encode`/`decode`, as it would over the wire, and is checked against
  the handler's `accepts` as `NatsBus` does;
- core subscribers get messages in publish order on their own task; no subscriber → dropped;
- durable publishes need `ensure_streams` first and are de-duplicated by message id within the
  stream's duplicate window (measured on the broker's clock, or the loop's monotonic time);
- a durable consumer delivers one message at a time in stream order (max_ack_pending 1), with
  the ack / nak / dead-letter policy of `delivery.dispose`; its position lives in the broker, so a
  consumer stopped mid-message and restarted under the same durable name gets it again.
  A nak delay is slept on the broker's clock if one was given (advance a `FakeClock` to let it
  pass), else redelivery is immediate;
- KV revisions increase per bucket; a watcher sees the current value, then every later put.

`await bus.settle()` returns once every delivery that can happen now has happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from sarathi.common.bus import delivery, subjects
from sarathi.common.bus.port import (
    Accepts,
    BusError,
    ConsumerOptions,
    Handler,
    KvEntry,
    M,
    NoBucketError,
    NoRespondersError,
    NoStreamError,
    PublishResult,
    ReplyHandler,
    RequestFailedError,
    RequestTimeoutError,
    accepted_types,
)
from sarathi.common.bus.streams import CONTROL_BUCKET, KV_BUCKETS, STREAMS, StreamSpec, stream_named
from sarathi.common.clock import Clock
from sarathi.common.messages.base import (
    Message,
    MessageDecodeError,
    UnexpectedMessageError,
    decode,
    decode_one_of,
)

_SETTLE_ROUNDS = 10_000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as a stream stores it."""

    sequence: int
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass(eq=False)
class _Stream:
    spec: StreamSpec
    messages: list[StoredMessage] = field(default_factory=list)
    seen_ids: dict[str, tuple[int, float]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


@dataclass(eq=False)
class _ConsumerState:
    """A durable consumer's position: survives the `consume` calls that use it."""

    stream: _Stream
    filter_subject: str
    next_sequence: int = 1
    attempts: dict[int, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    backing_off: bool = False

    def next_message(self) -> StoredMessage | None:
        for stored in self.stream.messages[self.next_sequence - 1 :]:
            if subjects.matches(self.filter_subject, stored.subject):
                return stored
        return None


class InMemoryBroker:
    """The shared 'server' behind one or more `InMemoryBus` clients."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self._streams: dict[str, _Stream] = {}
        self._consumers: dict[tuple[str, str], _ConsumerState] = {}
        self._kv: dict[str, dict[str, KvEntry]] = {}
        self._kv_revisions: dict[str, itertools.count[int]] = {}
        self._watchers: dict[tuple[str, str], list[asyncio.Queue[KvEntry]]] = {}
        self.core: list[_CoreSubscriber] = []
        self.servers: list[_Served] = []
        self.running: list[_Consumer] = []

    def now(self) -> float:
        if self.clock is not None:
            return self.clock.now().timestamp()
        return asyncio.get_running_loop().time()

    def ensure_streams(self) -> None:
        for spec in STREAMS:
            existing = self._streams.get(spec.name)
            if existing is None:
                self._streams[spec.name] = _Stream(spec)
            else:
                existing.spec = spec
        for bucket in KV_BUCKETS:
            self._kv.setdefault(bucket.name, {})
            self._kv_revisions.setdefault(bucket.name, itertools.count(1))

    def stream(self, name: str) -> _Stream:
        try:
            return self._streams[name]
        except KeyError:
            raise NoStreamError(f"no stream {name!r} (did ensure_streams run?)") from None

    async def append(
        self, subject: str, data: bytes, headers: dict[str, str], msg_id: str | None
    ) -> PublishResult:
        """Store a durable message (test code may use it to store raw, even undecodable, bytes)."""
        spec = next((s for s in STREAMS if s.covers(subject) and s.name in self._streams), None)
        if spec is None:
            raise NoStreamError(f"no stream stores {subject}")
        stream = self._streams[spec.name]
        now = self.now()
        if msg_id is not None and msg_id in stream.seen_ids:
            sequence, at = stream.seen_ids[msg_id]
            if now - at < spec.duplicate_window.total_seconds():
                return PublishResult(spec.name, sequence, duplicate=True)
        stored = StoredMessage(len(stream.messages) + 1, subject, data, dict(headers))
        stream.messages.append(stored)
        if msg_id is not None:
            stream.seen_ids[msg_id] = (stored.sequence, now)
        async with stream.changed:
            stream.changed.notify_all()
        return PublishResult(spec.name, stored.sequence, duplicate=False)

    def messages(self, stream: str) -> list[StoredMessage]:
        """Everything stream `stream` holds, in order (for assertions, e.g. on the DLQ)."""
        return list(self.stream(stream).messages)

    def consumer_state(self, stream: str, durable_name: str, filter_subject: str) -> _ConsumerState:
        key = (stream, durable_name)
        state = self._consumers.get(key)
        if state is None:
            state = self._consumers[key] = _ConsumerState(self.stream(stream), filter_subject)
        state.filter_subject = filter_subject  # like a consumer update on NATS
        return state

    def bucket(self, name: str) -> dict[str, KvEntry]:
        try:
            return self._kv[name]
        except KeyError:
            raise NoBucketError(f"no KV bucket {name!r} (did ensure_streams run?)") from None

    def kv_put(self, bucket: str, key: str, value: bytes) -> int:
        subjects.token(key)
        entries = self.bucket(bucket)
        entry = KvEntry(key, bytes(value), next(self._kv_revisions[bucket]))
        entries[key] = entry
        for queue in self._watchers.get((bucket, key), []):
            queue.put_nowait(entry)
        return entry.revision

    @contextlib.contextmanager
    def watching(self, bucket: str, key: str) -> Iterator[asyncio.Queue[KvEntry]]:
        queue: asyncio.Queue[KvEntry] = asyncio.Queue()
        watchers = self._watchers.setdefault((bucket, key), [])
        watchers.append(queue)
        try:
            yield queue
        finally:
            watchers.remove(queue)

    def idle(self) -> bool:
        return all(s.idle() for s in self.core) and all(c.idle() for c in self.running)


class _CoreSubscriber:
    """A core subscription: its own queue and task, like a nats-py subscription callback."""

    def __init__(
        self, broker: InMemoryBroker, pattern: str, handler: Handler[Any], accepted: tuple[type[Message], ...]
    ) -> None:
        self._broker = broker
        self.pattern = pattern
        self._handler = handler
        self._accepted = accepted
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._busy = False
        self._task = asyncio.create_task(self._run(), name=f"memory-sub-{pattern}")

    def offer(self, subject: str, data: bytes) -> None:
        if subjects.matches(self.pattern, subject):
            self._queue.put_nowait((subject, data))

    def idle(self) -> bool:
        return not self._busy and self._queue.empty()

    async def _run(self) -> None:
        while True:
            subject, data = await self._queue.get()
            self._busy = True
            try:
                await self._handler(decode_one_of(data, self._accepted))
            except MessageDecodeError as exc:  # undecodable, or of a type it does not accept
                log.warning("dropping message on %s: %s", subject, exc)
            except Exception:  # one bad message must not end the subscription
                log.exception("handler failed on %s", subject)
            finally:
                self._busy = False

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._broker.core.remove(self)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass(frozen=True, eq=False)
class _Served:
    pattern: str
    handler: ReplyHandler[Any]
    accepted: tuple[type[Message], ...]


class _Server:
    def __init__(self, broker: InMemoryBroker, entry: _Served) -> None:
        self._broker = broker
        self._entry = entry

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._broker.servers.remove(self._entry)


class _Consumer:
    """A running `consume` call over a durable consumer state."""

    def __init__(
        self,
        broker: InMemoryBroker,
        state: _ConsumerState,
        name: str,
        handler: Handler[Any],
        *,
        options: ConsumerOptions,
        accepted: tuple[type[Message], ...],
    ) -> None:
        self._broker = broker
        self._state = state
        self._name = name
        self._handler = handler
        self._options = options
        self._accepted = accepted
        self._busy = False
        self._task = asyncio.create_task(self._run(), name=f"memory-consume-{name}")

    def idle(self) -> bool:
        return not self._busy and (self._state.backing_off or self._state.next_message() is None)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._broker.running.remove(self)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        state = self._state
        while True:
            async with state.stream.changed:
                await state.stream.changed.wait_for(lambda: state.next_message() is not None)
            async with state.lock:  # one message in flight per durable name
                stored = state.next_message()
                if stored is not None:
                    await self._deliver(stored)
            await asyncio.sleep(0)  # let other tasks run between deliveries

    async def _deliver(self, stored: StoredMessage) -> None:
        state = self._state
        attempt = state.attempts[stored.sequence] = state.attempts.get(stored.sequence, 0) + 1
        item = delivery.Delivery(
            state.stream.spec.name, self._name, stored.subject, stored.sequence, attempt, stored.data
        )
        self._busy = True
        try:
            outcome = await delivery.dispose(item, self._handler, self._options, self._accepted)
        finally:
            self._busy = False  # cancelled mid-handler: position unchanged, redelivered on resume
        if isinstance(outcome, delivery.Nak):
            if self._broker.clock is not None and outcome.delay_seconds > 0:
                state.backing_off = True
                try:
                    await self._broker.clock.sleep(outcome.delay_seconds)
                finally:
                    state.backing_off = False
            return
        if isinstance(outcome, delivery.DeadLetter):
            await self._broker.append(
                subjects.dead_letter(stored.subject),
                stored.data,
                item.dead_letter_headers(outcome.reason),
                item.dead_letter_id,
            )
            log.error("dead-lettered seq %d of %s: %s", stored.sequence, item.stream, outcome.reason)
        state.attempts.pop(stored.sequence, None)
        state.next_sequence = stored.sequence + 1


class InMemoryBus:
    """One client of an `InMemoryBroker` (a new broker unless one is shared)."""

    def __init__(self, broker: InMemoryBroker | None = None, *, clock: Clock | None = None) -> None:
        self.broker = broker if broker is not None else InMemoryBroker(clock)
        self._closed = False
        self._mine: list[_CoreSubscriber | _Server | _Consumer] = []

    @property
    def is_connected(self) -> bool:
        return not self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("bus is closed")

    async def close(self) -> None:
        self._closed = True
        for item in reversed(self._mine):
            await item.stop()
        self._mine.clear()

    async def settle(self) -> None:
        """Return once nothing can be delivered now (nak delays on a fake clock excepted)."""
        for _ in range(_SETTLE_ROUNDS):
            await asyncio.sleep(0)
            if self.broker.idle():
                await asyncio.sleep(0)
                if self.broker.idle():
                    return
        raise RuntimeError("in-memory bus did not settle: does a handler publish in a loop?")

    async def publish(self, subject: str, msg: Message) -> None:
        self._check_open()
        subjects.validate_subject(subject)
        data = msg.encode()
        for subscriber in list(self.broker.core):
            subscriber.offer(subject, data)

    async def subscribe(self, subject: str, handler: Handler[M], *, accepts: Accepts[M]) -> _CoreSubscriber:
        self._check_open()
        pattern = subjects.validate_subject(subject, wildcards=True)
        subscriber = _CoreSubscriber(self.broker, pattern, handler, accepted_types(accepts))
        self.broker.core.append(subscriber)
        self._mine.append(subscriber)
        return subscriber

    async def request(self, subject: str, msg: Message, timeout_seconds: float) -> Message:
        self._check_open()
        subjects.validate_subject(subject)
        served = next((s for s in self.broker.servers if subjects.matches(s.pattern, subject)), None)
        if served is None:
            raise NoRespondersError(subject)
        try:
            request = decode_one_of(msg.encode(), served.accepted)
        except UnexpectedMessageError as exc:
            raise RequestFailedError(f"unexpected request: {exc}") from exc
        except MessageDecodeError as exc:
            raise RequestFailedError(f"undecodable request: {exc}") from exc
        try:
            reply = await asyncio.wait_for(served.handler(request), timeout_seconds)
        except TimeoutError:
            raise RequestTimeoutError(f"no reply on {subject} within {timeout_seconds}s") from None
        except Exception as exc:
            log.exception("request handler failed on %s", subject)
            raise RequestFailedError(f"handler failed: {exc!r}") from exc
        return decode(reply.encode())

    async def serve(self, subject: str, handler: ReplyHandler[M], *, accepts: Accepts[M]) -> _Server:
        self._check_open()
        entry = _Served(subjects.validate_subject(subject, wildcards=True), handler, accepted_types(accepts))
        self.broker.servers.append(entry)
        server = _Server(self.broker, entry)
        self._mine.append(server)
        return server

    async def publish_durable(self, subject: str, msg: Message) -> PublishResult:
        self._check_open()
        return await self.broker.append(
            subjects.validate_subject(subject), msg.encode(), {"Nats-Msg-Id": msg.message_id}, msg.message_id
        )

    async def consume(
        self,
        stream: str,
        durable_name: str,
        filter_subject: str,
        handler: Handler[M],
        options: ConsumerOptions | None = None,
        *,
        accepts: Accepts[M],
    ) -> _Consumer:
        self._check_open()
        subjects.token(durable_name)
        stream_named(stream)
        state = self.broker.consumer_state(
            stream, durable_name, subjects.validate_subject(filter_subject, wildcards=True)
        )
        consumer = _Consumer(
            self.broker,
            state,
            durable_name,
            handler,
            options=options or ConsumerOptions(),
            accepted=accepted_types(accepts),
        )
        self.broker.running.append(consumer)
        self._mine.append(consumer)
        return consumer

    async def ensure_streams(self) -> None:
        self._check_open()
        self.broker.ensure_streams()

    async def kv_put(self, key: str, value: bytes, *, bucket: str = CONTROL_BUCKET) -> int:
        self._check_open()
        return self.broker.kv_put(bucket, key, value)

    async def kv_get(self, key: str, *, bucket: str = CONTROL_BUCKET) -> KvEntry | None:
        self._check_open()
        return self.broker.bucket(bucket).get(key)

    async def kv_watch(self, key: str, *, bucket: str = CONTROL_BUCKET) -> AsyncIterator[KvEntry]:
        self._check_open()
        entries = self.broker.bucket(bucket)
        last_revision = 0
        with self.broker.watching(bucket, key) as updates:
            current = entries.get(key)
            if current is not None:
                last_revision = current.revision
                yield current
            while True:
                entry = await updates.get()
                if entry.revision > last_revision:
                    last_revision = entry.revision
                    yield entry
