"""`NatsBus`: the `Bus` port over nats-py (core NATS, JetStream, KV).

Durable consumers are JetStream pull consumers bound by durable name: the server keeps their
position, so a reconnecting client or a new process with the same durable name resumes where the
last one left off. Each consumer fetches one message at a time and handles it in order; while a
handler runs the message is kept alive with in-progress acks; the ack is synchronous (the server
confirmed it before the next message is fetched). On `stop`/`close` a message whose handler was
interrupted is nak'ed at once so it is redelivered immediately rather than after `ack_wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection
from datetime import timedelta
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from sarathi.common.bus import delivery, subjects
from sarathi.common.bus.activity import BusActivity
from sarathi.common.bus.port import (
    Accepts,
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
from sarathi.common.bus.streams import CONTROL_BUCKET, KV_BUCKETS, STREAMS, StreamSpec
from sarathi.common.messages.base import (
    Message,
    MessageDecodeError,
    UnexpectedMessageError,
    decode,
    decode_one_of,
)

log = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
ERROR_HEADER = "Sarathi-Error"
_RETRY_PAUSE_SECONDS = 1.0  # after a transport error in a consumer loop, before fetching again


def _seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def stream_config(spec: StreamSpec) -> StreamConfig:
    """The JetStream configuration of a stream spec: file storage, limits retention."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        max_age=_seconds(spec.max_age),
        duplicate_window=_seconds(spec.duplicate_window),
    )


class _CoreSubscription:
    def __init__(self, sub: NatsSubscription, *, observed: bool = True) -> None:
        self.observed = observed
        self._sub = sub

    @property
    def pending(self) -> int:
        return self._sub.pending_msgs

    async def stop(self) -> None:
        with contextlib.suppress(nats.errors.Error):
            await self._sub.unsubscribe()


class _Watch:
    """One running KV watch, for the clock protocol (`clock_hold`): what it has seen and read."""

    def __init__(self, bucket: str, key: str, watcher: KeyValue.KeyWatcher) -> None:
        self.bucket, self.key = bucket, key
        self.revision = 0  # the latest revision handed to the reader
        self.handling = False
        self._watcher = watcher

    @property
    def busy(self) -> bool:
        watcher: Any = self._watcher  # nats-py keeps its queue and subscription private
        sub = watcher._sub
        return self.handling or watcher._updates.qsize() > 0 or (sub is not None and sub.pending_msgs > 0)


class _PullConsumer:
    """One running durable pull consumer: a task fetching and handling messages in order."""

    def __init__(
        self,
        *,
        bus: NatsBus,
        psub: JetStreamContext.PullSubscription,
        stream: str,
        durable_name: str,
        handler: Handler[Any],
        options: ConsumerOptions,
        accepted: tuple[type[Message], ...],
    ) -> None:
        self._bus = bus
        self._psub = psub
        self.stream = self._stream = stream
        self.durable = self._durable = durable_name
        self._handler = handler
        self._options = options
        self._accepted = accepted
        self.task: asyncio.Task[None] = asyncio.create_task(
            self._run(), name=f"consume-{stream}-{durable_name}"
        )
        self.task.add_done_callback(self._report_end)

    def _report_end(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("consumer %s/%s died", self._stream, self._durable, exc_info=exc)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # a death was logged already
            await self.task
        self._bus._forget(self)
        with contextlib.suppress(nats.errors.Error):
            await self._psub.unsubscribe()

    async def _run(self) -> None:
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():
                # nats-py's fetch can swallow a cancellation that races with its own timeout.
                raise asyncio.CancelledError
            try:
                msgs = await self._psub.fetch(1, timeout=self._bus.fetch_timeout_seconds)
            except nats.errors.TimeoutError:
                continue  # nothing new
            except nats.errors.ConnectionClosedError:
                log.warning("consumer %s/%s: connection closed, stopping", self._stream, self._durable)
                return
            except nats.errors.Error as exc:
                log.warning("consumer %s/%s: fetch failed: %r", self._stream, self._durable, exc)
                await asyncio.sleep(_RETRY_PAUSE_SECONDS)
                continue
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
        item = delivery.Delivery(
            stream=self._stream,
            consumer=self._durable,
            subject=msg.subject,
            sequence=meta.sequence.stream,
            attempt=meta.num_delivered,
            data=msg.data,
        )
        keep_alive = asyncio.create_task(self._keep_alive(msg))
        activity = self._bus.activity
        try:
            if activity is not None:
                with activity.handling(item.subject):
                    outcome = await delivery.dispose(item, self._handler, self._options, self._accepted)
            else:
                outcome = await delivery.dispose(item, self._handler, self._options, self._accepted)
        except asyncio.CancelledError:
            with contextlib.suppress(nats.errors.Error):
                await msg.nak()  # interrupted: let another consumer have it now, not after ack_wait
            raise
        finally:
            keep_alive.cancel()
        try:
            await self._settle(msg, item, outcome)
        except nats.errors.Error as exc:
            # The server will redeliver after ack_wait; handlers are idempotent by contract.
            log.warning(
                "consumer %s/%s: settling seq %d failed: %r", self._stream, self._durable, item.sequence, exc
            )

    async def _settle(self, msg: Msg, item: delivery.Delivery, outcome: delivery.Disposition) -> None:
        if isinstance(outcome, delivery.Ack):
            await msg.ack_sync(timeout=self._bus.request_timeout_seconds)
        elif isinstance(outcome, delivery.Nak):
            await msg.nak(delay=outcome.delay_seconds)
        else:
            try:
                await self._bus._js.publish(
                    subjects.dead_letter(item.subject),
                    item.data,
                    headers={MSG_ID: item.dead_letter_id, **item.dead_letter_headers(outcome.reason)},
                )
            except nats.errors.Error:
                log.exception(
                    "dead-lettering seq %d of %s failed; retrying later", item.sequence, self._stream
                )
                await msg.nak(delay=self._options.backoff_for(item.attempt))
                return
            await msg.term()
            log.error("dead-lettered seq %d of %s: %s", item.sequence, self._stream, outcome.reason)

    async def _keep_alive(self, msg: Msg) -> None:
        interval = self._options.ack_wait_seconds / 3
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(nats.errors.Error):
                await msg.in_progress()


class NatsBus:
    """The bus over a nats-py connection. Build with `await NatsBus.connect(url, name=...)`."""

    def __init__(
        self, nc: Client, *, request_timeout_seconds: float = 5.0, fetch_timeout_seconds: float = 2.0
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream(timeout=request_timeout_seconds)
        self.request_timeout_seconds = request_timeout_seconds
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self._subscriptions: list[_CoreSubscription] = []
        self._consumers: list[_PullConsumer] = []
        self._kv: dict[str, KeyValue] = {}
        self.activity: BusActivity | None = None  # sim mode's clock protocol only (`clock_hold`)
        self._watches: list[_Watch] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str = "sarathi",
        connect_timeout_seconds: int = 5,
        reconnect_wait_seconds: int = 1,
        max_reconnect_attempts: int = -1,
        request_timeout_seconds: float = 5.0,
        fetch_timeout_seconds: float = 2.0,
    ) -> NatsBus:
        """Connect to `url`; reconnect forever (by default) and log every disconnect/reconnect.

        With `max_reconnect_attempts` >= 0 the first connection is tried that many times more,
        then `ConnectionError` says NATS does not answer (a one-off job gives up; a service,
        retrying for ever, stays stoppable: `sarathi.common.web.Server`).
        """

        async def on_disconnected() -> None:
            log.warning("NATS %s disconnected", name)

        async def on_reconnected() -> None:
            log.warning("NATS %s reconnected", name)

        async def on_closed() -> None:
            log.info("NATS %s closed", name)

        async def on_error(exc: Exception) -> None:
            log.warning("NATS %s error: %r", name, exc)

        try:
            nc = await nats.connect(
                url,
                name=name,
                connect_timeout=connect_timeout_seconds,
                reconnect_time_wait=reconnect_wait_seconds,
                max_reconnect_attempts=max_reconnect_attempts,
                allow_reconnect=True,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                closed_cb=on_closed,
                error_cb=on_error,
            )
        except nats.errors.NoServersError:
            # Not the URL: it may carry a token.
            raise ConnectionError(f"NATS does not answer ({max_reconnect_attempts + 1} attempts)") from None
        return cls(
            nc, request_timeout_seconds=request_timeout_seconds, fetch_timeout_seconds=fetch_timeout_seconds
        )

    @property
    def is_connected(self) -> bool:
        return bool(self._nc.is_connected)

    async def close(self) -> None:
        """Stop consumers (interrupted messages are nak'ed) and subscriptions, flush, disconnect."""
        for consumer in list(self._consumers):
            await consumer.stop()
        for sub in self._subscriptions:
            await sub.stop()
        self._subscriptions.clear()
        if self._nc.is_closed:
            return
        if self._nc.is_connected:
            # Subscriptions are already stopped, so there is nothing to drain: flush what we
            # published (acks included) and close. (nats-py's drain can wait out its whole
            # drain timeout on pull subscriptions.)
            try:
                await self._nc.flush(timeout=int(self.request_timeout_seconds))
            except nats.errors.Error as exc:
                log.warning("NATS flush before close failed: %r", exc)
        try:
            await self._nc.close()
        except (nats.errors.Error, OSError) as exc:  # closing a dead connection: nothing to save
            log.warning("NATS close: %r", exc)

    def _forget(self, consumer: _PullConsumer) -> None:
        with contextlib.suppress(ValueError):
            self._consumers.remove(consumer)

    # core NATS

    async def publish(self, subject: str, msg: Message, *, observed: bool = True) -> None:
        """`observed=False`: not counted by `activity` (the clock protocol's own messages)."""
        await self._nc.publish(subjects.validate_subject(subject), msg.encode())
        if observed and self.activity is not None:
            self.activity.published += 1

    async def subscribe(
        self, subject: str, handler: Handler[M], *, accepts: Accepts[M], observed: bool = True
    ) -> _CoreSubscription:
        """`observed=False`: neither its backlog nor its handler counts in `activity`."""
        subjects.validate_subject(subject, wildcards=True)
        accepted = accepted_types(accepts)
        typed: Handler[Any] = handler  # it gets only what `decode_one_of` checked is accepted

        async def on_message(raw: Msg) -> None:
            try:
                message = decode_one_of(raw.data, accepted)
            except MessageDecodeError as exc:  # undecodable, or of a type it does not accept
                log.warning("dropping message on %s: %s", raw.subject, exc)
                return
            try:
                if observed and self.activity is not None:
                    with self.activity.handling(raw.subject):
                        await typed(message)
                else:
                    await typed(message)
            except Exception:  # one bad message must not end the subscription
                log.exception("handler failed on %s", raw.subject)

        sub = _CoreSubscription(await self._nc.subscribe(subject, cb=on_message), observed=observed)
        self._subscriptions.append(sub)
        await self._nc.flush()  # the server knows the subscription before we return
        return sub

    # the clock protocol of the held day (sim mode only: `sarathi.common.clock_hold`)

    async def flush(self) -> None:
        """Until the server has processed everything this connection sent."""
        await self._nc.flush()

    def core_backlog(self) -> int:
        """Messages received on observed core subscriptions and not yet handed to their handler."""
        return sum(sub.pending for sub in self._subscriptions if sub.observed)

    async def consumers_busy(
        self, idle: Callable[[asyncio.Task[object]], bool], streams: Collection[str] = ("*",)
    ) -> list[str]:
        """ "STREAM/durable" of each consumer with a message not yet delivered or not yet acked,
        except one whose task `idle` says is only waiting (for market time)."""
        every = "*" in streams
        consumers = [c for c in self._consumers if (every or c.stream in streams) and not idle(c.task)]
        infos = await asyncio.gather(*(self._js.consumer_info(c.stream, c.durable) for c in consumers))
        return [
            f"{c.stream}/{c.durable}"
            for c, info in zip(consumers, infos, strict=True)
            if (info.num_pending or 0) + (info.num_ack_pending or 0)
        ]

    async def request(self, subject: str, msg: Message, timeout_seconds: float) -> Message:
        try:
            reply = await self._nc.request(
                subjects.validate_subject(subject), msg.encode(), timeout=timeout_seconds
            )
        except nats.errors.NoRespondersError:
            raise NoRespondersError(subject) from None
        except nats.errors.TimeoutError:
            raise RequestTimeoutError(f"no reply on {subject} within {timeout_seconds}s") from None
        if reply.headers and ERROR_HEADER in reply.headers:
            raise RequestFailedError(reply.headers[ERROR_HEADER])
        return decode(reply.data)

    async def serve(
        self, subject: str, handler: ReplyHandler[M], *, accepts: Accepts[M]
    ) -> _CoreSubscription:
        subjects.validate_subject(subject, wildcards=True)
        accepted = accepted_types(accepts)
        typed: ReplyHandler[Any] = handler  # it gets only what `decode_one_of` checked is accepted

        async def on_request(raw: Msg) -> None:
            if not raw.reply:
                return
            try:
                request = decode_one_of(raw.data, accepted)
                answer = (await typed(request)).encode()
                headers: dict[str, str] | None = None
            except UnexpectedMessageError as exc:
                answer, headers = b"", {ERROR_HEADER: f"unexpected request: {exc}"[:512]}
            except MessageDecodeError as exc:
                answer, headers = b"", {ERROR_HEADER: f"undecodable request: {exc}"[:512]}
            except Exception as exc:  # the requester gets a typed failure instead of a timeout
                log.exception("request handler failed on %s", raw.subject)
                answer, headers = b"", {ERROR_HEADER: f"handler failed: {exc!r}"[:512]}
            await self._nc.publish(raw.reply, answer, headers=headers)

        sub = _CoreSubscription(await self._nc.subscribe(subject, cb=on_request))
        self._subscriptions.append(sub)
        await self._nc.flush()
        return sub

    # JetStream

    async def publish_durable(self, subject: str, msg: Message) -> PublishResult:
        try:
            ack = await self._js.publish(
                subjects.validate_subject(subject), msg.encode(), headers={MSG_ID: msg.message_id}
            )
        except nats.js.errors.NoStreamResponseError:
            raise NoStreamError(f"no stream stores {subject}") from None
        if self.activity is not None:
            self.activity.published += 1
            self.activity.stored_to.add(ack.stream)
        return PublishResult(stream=ack.stream, sequence=ack.seq, duplicate=bool(ack.duplicate))

    async def consume(
        self,
        stream: str,
        durable_name: str,
        filter_subject: str,
        handler: Handler[M],
        options: ConsumerOptions | None = None,
        *,
        accepts: Accepts[M],
    ) -> _PullConsumer:
        opts = options or ConsumerOptions()
        subjects.token(durable_name)
        subjects.validate_subject(filter_subject, wildcards=True)
        config = ConsumerConfig(
            name=durable_name,
            durable_name=durable_name,
            filter_subject=filter_subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=opts.ack_wait_seconds,
            # One more than our own limit: a message whose last delivery never finished (crash)
            # comes back once more and is dead-lettered by `delivery.dispose`.
            max_deliver=opts.max_deliver + 1,
            max_ack_pending=opts.max_ack_pending,
        )
        await self._js.add_consumer(stream, config=config)  # create or update
        psub = await self._js.pull_subscribe_bind(durable=durable_name, stream=stream)
        consumer = _PullConsumer(
            bus=self, psub=psub, stream=stream, durable_name=durable_name, handler=handler, options=opts,
            accepted=accepted_types(accepts),
        )  # fmt: skip
        self._consumers.append(consumer)
        return consumer

    async def ensure_streams(self) -> None:
        for spec in STREAMS:
            config = stream_config(spec)
            try:
                await self._js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(config)
                log.info("created stream %s", spec.name)
            else:
                await self._js.update_stream(config)
        for bucket in KV_BUCKETS:
            try:
                self._kv[bucket.name] = await self._js.key_value(bucket.name)
            except nats.js.errors.BucketNotFoundError:
                self._kv[bucket.name] = await self._js.create_key_value(
                    KeyValueConfig(bucket=bucket.name, history=bucket.history, storage=StorageType.FILE)
                )
                log.info("created KV bucket %s", bucket.name)

    # KV

    async def _bucket(self, name: str) -> KeyValue:
        if name not in self._kv:
            try:
                self._kv[name] = await self._js.key_value(name)
            except nats.js.errors.BucketNotFoundError:
                raise NoBucketError(f"no KV bucket {name!r} (did ensure_streams run?)") from None
        return self._kv[name]

    async def kv_put(self, key: str, value: bytes, *, bucket: str = CONTROL_BUCKET) -> int:
        revision = int(await (await self._bucket(bucket)).put(key, value))
        if self.activity is not None:
            self.activity.published += 1
            name = f"KV_{bucket}/{key}"
            self.activity.kv_revisions[name] = max(revision, self.activity.kv_revisions.get(name, 0))
        return revision

    async def kv_get(self, key: str, *, bucket: str = CONTROL_BUCKET) -> KvEntry | None:
        try:
            entry = await (await self._bucket(bucket)).get(key)
        except nats.js.errors.KeyNotFoundError:
            return None
        return _entry(key, entry)

    async def kv_watch(self, key: str, *, bucket: str = CONTROL_BUCKET) -> AsyncIterator[KvEntry]:
        watcher = await (await self._bucket(bucket)).watch(key, ignore_deletes=True)
        watch = _Watch(bucket, key, watcher)
        self._watches.append(watch)
        try:
            async for entry in watcher:
                if entry is not None:  # None marks "initial values delivered"
                    watch.revision = max(watch.revision, int(entry.revision or 0))
                    watch.handling = True  # until the reader asks for the next entry
                    yield _entry(key, entry)
                    watch.handling = False
                    if self.activity is not None:
                        self.activity.on_change()
        finally:
            self._watches.remove(watch)
            with contextlib.suppress(nats.errors.Error):
                await watcher.stop()  # type: ignore[no-untyped-call]

    def watches_busy(self, ignore: Collection[str] = ()) -> list[str]:
        """Each KV watch (bucket/key, of a key not in `ignore`) with an entry received and not
        yet fully read."""
        return [f"{w.bucket}/{w.key}" for w in self._watches if w.busy and w.key not in ignore]

    async def watches_behind(
        self, ignore: Collection[str] = (), streams: Collection[str] = ("*",)
    ) -> list[str]:
        """Each KV watch (bucket/key, of a key not in `ignore`) that has not yet received a
        revision `streams` names: `KV_<bucket>/<key>@<revision>` (compared here), or the key's
        latest (asked of JetStream) for `KV_<bucket>/<key>` or `*`."""
        every = "*" in streams
        wanted: dict[str, int] = {}
        for name in streams:
            key, _, revision = name.partition("@")
            if revision:
                wanted[key] = max(int(revision), wanted.get(key, 0))
        behind, ask = [], []
        for watch in self._watches:
            name = f"KV_{watch.bucket}/{watch.key}"
            if watch.key in ignore:
                continue
            if every or name in streams:
                ask.append(watch)
            elif name in wanted and watch.revision < wanted[name]:
                behind.append(f"{watch.bucket}/{watch.key}")
        latest = await asyncio.gather(*(self.kv_get(w.key, bucket=w.bucket) for w in ask))
        behind += [
            f"{w.bucket}/{w.key}"
            for w, entry in zip(ask, latest, strict=True)
            if entry is not None and entry.revision > w.revision
        ]
        return behind


def _entry(key: str, entry: KeyValue.Entry) -> KvEntry:
    return KvEntry(key=key, value=bytes(entry.value or b""), revision=int(entry.revision or 0))
