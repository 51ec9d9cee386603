"""How execution's integration tests wait: on the message, the KV revision or the row that means
the thing happened, each within a bound; never on a sleep.

A row and an HTTP state have no event to await: `eventually` polls them, bounded like the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.port import Bus, KvEntry
from sarathi.common.clock import LiveClock
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment, Underlying
from sarathi.common.messages.base import Message, decode
from sarathi.common.messages.market import Tick
from sarathi.execution.adapters.prices import FeedPrices

T = TypeVar("T")
WITHIN_SECONDS = 30.0
POLL_SECONDS = 0.1


async def bounded(awaitable: Awaitable[T], what: str, within: float = WITHIN_SECONDS) -> T:
    """`awaitable`'s result, or an AssertionError naming `what` after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            return await awaitable
    except TimeoutError:
        raise AssertionError(f"not within {within:.0f}s: {what}") from None


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, within: float = WITHIN_SECONDS
) -> T:
    """Poll `check` (a row, an HTTP state: nothing to await) until it gives a truthy value."""

    async def poll() -> T:
        while not (found := await check()):  # noqa: ASYNC110 - a row or an HTTP state has no event
            await asyncio.sleep(POLL_SECONDS)
        return found

    return await bounded(poll(), what, within)


class StreamTap:
    """Every message of a JetStream stream, from the first, as an ordered consumer delivers them."""

    def __init__(self, js: JetStreamContext, stream: streams.StreamSpec) -> None:
        self.messages: list[Message] = []
        self._js = js
        self._stream = stream
        self._last_seq = 0
        self._changed = asyncio.Event()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, nats_url: str, stream: streams.StreamSpec) -> AsyncIterator[StreamTap]:
        (everything,) = stream.subjects  # one filter covers the stream: `caught_up` can end
        client = await nats.connect(nats_url)
        tap = cls(client.jetstream(), stream)
        try:
            await tap._js.subscribe(everything, stream=stream.name, ordered_consumer=True, cb=tap._on)
            yield tap
        finally:
            await client.close()

    async def _on(self, msg: Msg) -> None:
        self.messages.append(decode(msg.data))
        self._last_seq = msg.metadata.sequence.stream
        self._changed.set()

    async def wait_for(self, find: Callable[[list[Message]], T | None], what: str) -> T:
        """The first truthy `find(messages)`, re-checked at each message."""

        async def loop() -> T:
            while not (found := find(self.messages)):
                self._changed.clear()
                await self._changed.wait()
            return found

        return await bounded(loop(), what)

    async def caught_up(self) -> list[Message]:
        """Every message the stream holds now (the tap has delivered its last sequence)."""
        last = (await self._js.stream_info(self._stream.name)).state.last_seq
        await self.wait_for(lambda _: self._last_seq >= last, f"{self._stream.name} up to {last}")
        return list(self.messages)


async def kv_entry(
    bus: Bus, key: str, accept: Callable[[KvEntry], bool], what: str, *, bucket: str = streams.CONTROL_BUCKET
) -> KvEntry:
    """The first revision of `key` (the current one included) that `accept`s."""

    async def watch() -> KvEntry:
        revisions = bus.kv_watch(key, bucket=bucket)
        try:
            async for entry in revisions:
                if accept(entry):
                    return entry
        finally:
            if isinstance(revisions, AsyncGenerator):
                await revisions.aclose()  # stops the watcher now, not at garbage collection
        raise AssertionError(f"the watch of {key} ended")

    return await bounded(watch(), what)


async def watchers_were_sent(
    nats_url: str, key: str, revision: int, *, bucket: str = streams.CONTROL_BUCKET
) -> None:
    """Until NATS has sent `revision` of `key` to every watcher of it (the services' KV watches).

    A service reads everything from its one connection in order, so a message published after
    this reaches it after the revision: its state has changed before it handles that message.
    """
    subject = f"$KV.{bucket}.{key}"
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()

        async def all_sent() -> bool:
            watchers = [
                info
                for info in await js.consumers_info(f"KV_{bucket}")
                if info.push_bound and any(subjects.matches(f, subject) for f in _filters(info.config))
            ]  # a watch that has stopped (ours, read earlier) is no longer bound: not a watcher
            assert watchers, f"nobody watches {subject}"
            return all(((w.delivered and w.delivered.stream_seq) or 0) >= revision for w in watchers)

        await eventually(all_sent, f"every watcher of {key} sent revision {revision}")
    finally:
        await client.close()


def _filters(config: object) -> Iterable[str]:
    single = getattr(config, "filter_subject", None)
    return [*([single] if single else []), *(getattr(config, "filter_subjects", None) or [])]


async def feed_has_index_ticks(bus: Bus, *underlyings: Underlying) -> None:
    """Until the feed's snapshot, which execution asks before each entry, has a tick of each index
    (asked again at each index tick the feed publishes)."""
    wanted = [ContractKey(u.index_segment, u.spec.security_id) for u in underlyings]
    prices = FeedPrices(bus, LiveClock(), timeout_seconds=2.0)
    ticked = asyncio.Event()

    async def on_tick(_: Tick) -> None:
        ticked.set()

    subscription = await bus.subscribe(subjects.tick_wildcard(ExchangeSegment.IDX_I), on_tick, accepts=Tick)

    async def loop() -> None:
        while True:
            ticked.clear()
            if set(await prices.latest(wanted)) >= set(wanted):
                return
            await ticked.wait()

    try:
        await bounded(loop(), f"the feed's snapshot of {', '.join(underlyings)}")
    finally:
        await subscription.stop()
