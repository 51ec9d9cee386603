"""The feed manager: the subscription book, the connections it needs, and the watchdog loop.

Requests change the book; the book's changes go to the connection that owns each instrument
(opened on first use, at most `max_connections`). Every `watchdog_interval` the staleness
watchdog is checked: transitions become `FeedStale` / `FeedRecovered` on `feed.health.<name>`
(core NATS; nobody consumes them: execution and risk judge prices by tick age), plus a log line
and the gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

from sarathi.common.clock import Clock
from sarathi.common.clock_hold import track_loop
from sarathi.common.dhan.feed_requests import FeedInstrument
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import Message, envelope
from sarathi.common.messages.market import FeedRecovered, FeedStale
from sarathi.common.web import NotReadyError
from sarathi.feed.connection import ConnectionConfig, FeedConnection
from sarathi.feed.domain.disconnects import Action, Verdict
from sarathi.feed.domain.staleness import Recovered, Stale, StalenessWatchdog, Transition, Unanswered
from sarathi.feed.domain.subscriptions import Change, Outcome, SubscriptionBook
from sarathi.feed.metrics import FeedMetrics
from sarathi.feed.pipeline import FrameProcessor

log = get_logger(__name__)

FEED_REQUESTER = "feed"  # holds the indices subscribed at start
EventSink = Callable[[Message], Awaitable[None]]


class FeedManager:
    def __init__(
        self,
        *,
        book: SubscriptionBook,
        config: ConnectionConfig,
        clock: Clock,
        processor: FrameProcessor,
        watchdog: StalenessWatchdog,
        metrics: FeedMetrics,
        events: EventSink,
        session_open: Callable[[datetime], datetime | None] = lambda _: None,
    ) -> None:
        self.book = book
        self._config = config
        self._clock = clock
        self.processor = processor
        self.watchdog = watchdog
        self._metrics = metrics
        self._events = events
        self._session_open = session_open  # when the running session opened, None while closed
        self.connections: dict[int, FeedConnection] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.stopped: dict[int, Verdict] = {}
        self.auth_waiting: dict[int, Verdict] = {}  # connections Dhan refuses the credentials of
        self._background: set[asyncio.Future[None]] = set()
        self.stopped_event = asyncio.Event()  # set once any connection stopped for good

    @property
    def healthy(self) -> bool:
        return not self.stopped and not self.auth_waiting

    async def ready(self) -> None:
        """Readiness check `connected`: every connection up, none waiting for credentials; while
        the market is open (the feed's clock), each with instruments also subscribed: a packet
        arrived on its current socket (Dhan acknowledges a subscription only by sending data, a
        prev-close packet first: REFERENCE §6.5)."""
        if self.stopped:
            number, verdict = next(iter(self.stopped.items()))
            raise NotReadyError(f"no connection to Dhan: connection {number} stopped ({_said(verdict)})")
        if self.auth_waiting:
            _, verdict = next(iter(self.auth_waiting.items()))
            raise NotReadyError(f"no connection to Dhan (last error: {_said(verdict)})")
        if not self.connections:
            raise NotReadyError("no connection to Dhan opened yet")
        for number, connection in self.connections.items():
            if not connection.ready:
                last = connection.last_verdict
                error = f" (last error: {_said(last)})" if last is not None else ""
                raise NotReadyError(f"no connection to Dhan: connection {number} connecting{error}")
        if self._session_open(self._clock.now()) is None:
            return
        for number, connection in self.connections.items():
            if self.book.load(number) and not connection.has_data:
                raise NotReadyError(
                    f"connected to Dhan but not subscribed: no data yet on connection {number} "
                    f"({self.book.load(number)} instruments asked for)"
                )

    def subscribe(self, requester: str, instruments: Iterable[FeedInstrument]) -> Outcome:
        outcome = self.book.add(requester, instruments)
        now = self._clock.now().timestamp()
        for change in outcome.changes:
            for instrument in change.instruments:
                self.watchdog.track(instrument, change.connection, now)
        self._apply(outcome.changes)
        return outcome

    def unsubscribe(self, requester: str, instruments: Iterable[FeedInstrument]) -> Outcome:
        outcome = self.book.remove(requester, instruments)
        for change in outcome.changes:
            for instrument in change.instruments:
                self.watchdog.untrack(instrument)
                self.processor.cache.pop(instrument, None)
        self._apply(outcome.changes)
        return outcome

    def _apply(self, changes: Iterable[Change]) -> None:
        for change in changes:
            self._connection(change.connection).send(change)
        for number in range(self.book.max_connections):
            self._metrics.subscriptions.labels(str(number)).set(self.book.load(number))

    def _connection(self, number: int) -> FeedConnection:
        connection = self.connections.get(number)
        if connection is None:
            connection = FeedConnection(
                number, self._config, clock=self._clock, processor=self.processor, metrics=self._metrics,
                subscriptions=self.book.on_connection, on_stopped=self._on_stopped, on_auth=self._on_auth,
            )  # fmt: skip
            self.connections[number] = connection
            self.watchdog.connection_started(number, self._clock.now().timestamp())
            task = asyncio.create_task(connection.run(), name=f"feed-connection-{number}")
            task.add_done_callback(lambda done: self._connection_ended(number, done))
            self._tasks[number] = task
        return connection

    def _connection_ended(self, number: int, task: asyncio.Task[None]) -> None:
        """A connection's task that raised (a bug) stops it for good, as a verdict would."""
        if task.cancelled() or (error := task.exception()) is None:
            return
        log.error("feed_connection_crashed", connection=number, error=repr(error)[:300])
        why = f"the connection's task crashed: {error!r}"[:300]
        self._on_stopped(number, Verdict(None, why, Action.STOP))

    def _on_auth(self, number: int, verdict: Verdict | None) -> None:
        """Waiting for credentials starts (`verdict`) or ends (None). The watchdog keeps judging
        the connection: it turns stale after its threshold and recovers when data flows again."""
        if verdict is None:
            self.auth_waiting.pop(number, None)
        else:
            self.auth_waiting[number] = verdict

    def _on_stopped(self, number: int, verdict: Verdict) -> None:
        self.auth_waiting.pop(number, None)
        self.stopped[number] = verdict
        self.stopped_event.set()
        self.watchdog.connection_stopped(number)
        self._tasks.pop(number, None)
        self._spawn(self._publish(FeedStale(
            **self._envelope(), connection=f"dhan-{number}", age_ms=0, threshold_ms=0, last_data_at=None,
        )))  # fmt: skip

    async def watch(self, interval_seconds: float) -> None:
        """The watchdog loop (a worker task)."""
        track_loop(self._clock)  # the held day waits for a check due at T (sim mode only)
        while True:
            await self._clock.sleep(interval_seconds)
            await self.check_staleness()

    async def check_staleness(self) -> list[Transition]:
        """Judge staleness now, in market time; only the session counts (`domain/staleness.py`)."""
        now = self._clock.now()
        ts = now.timestamp()
        session = self._session_open(now)
        opened_at = session.timestamp() if session is not None else None
        transitions = self.watchdog.check(ts, opened_at=opened_at)
        for number in self.connections:
            if number not in self.stopped:
                age = self.watchdog.connection_age(number, ts, opened_at)
                self._metrics.staleness.labels(str(number)).set(age)
        self._metrics.market_open.set(0 if opened_at is None else 1)
        self._metrics.stale_instruments.set(self.watchdog.stale_count)
        self._metrics.unanswered_instruments.set(self.watchdog.unanswered_count)
        events = []
        for transition in transitions:
            if isinstance(transition, Unanswered):
                log.warning(
                    "feed_instrument_unanswered", connection=transition.connection,
                    segment=str(transition.instrument.segment), security_id=transition.instrument.security_id,
                    age_seconds=round(transition.age_seconds, 3),
                    why="Dhan sent nothing for it (no prev-close, no tick): unlisted, expired or a wrong id",
                )  # fmt: skip
            else:
                events.append(self._event(transition))
        for event in events:
            await self._publish(event)
        return transitions

    def _envelope(self) -> dict[str, object]:
        return envelope(correlation_id="feed-health", event_time=self._clock.now())

    def _event(self, transition: Stale | Recovered) -> Message:
        where: dict[str, object] = {"connection": f"dhan-{transition.connection}"}
        if transition.instrument is not None:
            where |= {
                "segment": transition.instrument.segment,
                "security_id": transition.instrument.security_id,
            }
        if isinstance(transition, Stale):
            last = transition.last_data_at
            log.warning("feed_stale", age_seconds=round(transition.age_seconds, 3), **_printable(where))
            return FeedStale(
                **self._envelope(), **where, age_ms=int(transition.age_seconds * 1000),
                threshold_ms=int(transition.threshold_seconds * 1000),
                last_data_at=datetime.fromtimestamp(last, UTC) if last is not None else None,
            )  # fmt: skip
        assert isinstance(transition, Recovered)
        log.info(
            "feed_recovered", stale_for_seconds=round(transition.stale_for_seconds, 3), **_printable(where)
        )
        return FeedRecovered(
            **self._envelope(), **where, stale_for_ms=int(transition.stale_for_seconds * 1000)
        )

    async def _publish(self, event: Message) -> None:
        try:
            await self._events(event)
        except Exception as exc:  # the event is also in the log and the gauges; the loop goes on
            log.warning("feed_health_event_failed", error=repr(exc), event=event.type)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


def _said(verdict: Verdict) -> str:
    return f"{verdict.message}, {verdict.reason}" if verdict.reason is not None else verdict.message


def _printable(where: dict[str, object]) -> dict[str, str]:
    return {key: str(value) for key, value in where.items()}
