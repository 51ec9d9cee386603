"""What `sarathi chaos` reads to know a paused system has settled: JetStream consumers' backlog
(from a synchronous caller) and what changes when the sim's broker or feed does anything."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NatsClient

T = TypeVar("T")
# The streams with durable consumers whose work decides trades (ARCHITECTURE §3).
PROBED_STREAMS = ("ORDER_CMD", "ORDER_EVT", "RISK_EVT", "SIGNALS")


@dataclass(frozen=True, slots=True)
class Consumers:
    """Durable consumers' backlog, and the sequences that move whenever one of them does work."""

    pending: int  # messages not yet delivered plus delivered and not yet acknowledged
    busy: tuple[str, ...]  # "STREAM/consumer" of those with a backlog
    marks: tuple[tuple[str, int, int], ...]  # (name, delivered stream seq, ack floor stream seq)


class JetStreamProbe:
    """JetStream consumer info from a synchronous caller (its own event loop on a daemon thread)."""

    def __init__(
        self, url: str, streams: tuple[str, ...] = PROBED_STREAMS, timeout_seconds: float = 5.0
    ) -> None:
        self._streams = streams
        self._timeout = timeout_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jetstream-probe", daemon=True)
        self._thread.start()
        try:
            self._nc: NatsClient = self._run(nats.connect(url, connect_timeout=timeout_seconds))
        except BaseException:
            self._stop_loop()
            raise
        self._jsm = self._nc.jsm()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    def read(self) -> Consumers:
        return self._run(self._read())

    async def _read(self) -> Consumers:
        infos = await asyncio.gather(*(self._jsm.consumers_info(stream) for stream in self._streams))
        pending, busy, marks = 0, [], []
        for stream, consumers in zip(self._streams, infos, strict=True):
            for info in consumers:
                name = f"{stream}/{info.name}"
                backlog = (info.num_pending or 0) + (info.num_ack_pending or 0)
                pending += backlog
                if backlog:
                    busy.append(name)
                delivered = info.delivered.stream_seq if info.delivered else 0
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                marks.append((name, delivered or 0, floor or 0))
        return Consumers(pending, tuple(busy), tuple(sorted(marks)))

    def close(self) -> None:
        try:
            self._run(self._nc.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self._timeout)
        self._loop.close()


def _key(entry: dict[str, Any]) -> str:
    return f"{entry['segment']}:{entry['security_id']}"


def sim_activity(sim: dict[str, Any]) -> tuple[Any, ...]:
    return (
        sim["order_update_frames"],
        sim["working_orders"],
        sim["open_positions"],
        tuple(_key(s) for s in sim["feed_subscriptions"]),
    )
