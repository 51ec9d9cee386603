"""Composition root of the feed service: builds everything from settings, connects nothing at import.

Inside the app's lifespan (after NATS is up): a dedicated NATS connection for ticks, the
recorder, the frame processor, the subscription book with the indices, the request handlers on
`feed.subscribe` / `feed.unsubscribe` / `feed.snapshot`, the watchdog loop and the recorder's
flush loop. On the way out: handlers stopped, sockets closed, ticks flushed, recording closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from pydantic import SecretStr

from sarathi.common.backoff import Backoff
from sarathi.common.bus import subjects
from sarathi.common.bus.port import Bus
from sarathi.common.clock import Clock, HoldHooks, LiveClock, SimClock
from sarathi.common.clock_source import running_clock
from sarathi.common.dhan.feed_requests import FeedInstrument, FeedMode, feed_connect_url
from sarathi.common.dhan.token_share import following_token
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import Message
from sarathi.common.messages.market import SubscribeRequest, TickSnapshotRequest, UnsubscribeRequest
from sarathi.common.messages.sim import ClockHeld
from sarathi.common.metrics import ServiceMetrics
from sarathi.common.runtime import Infrastructure, build_service_app
from sarathi.common.tasks import BackgroundTasks
from sarathi.common.web import NotReadyError
from sarathi.feed.adapters.nats_sink import NatsTickSink
from sarathi.feed.adapters.recorder import DailyRecorder
from sarathi.feed.connection import ConnectionConfig
from sarathi.feed.domain.staleness import StalenessWatchdog
from sarathi.feed.domain.subscriptions import SubscriptionBook
from sarathi.feed.handlers import FeedHandlers
from sarathi.feed.manager import FEED_REQUESTER, FeedManager
from sarathi.feed.metrics import FeedMetrics
from sarathi.feed.pipeline import FrameProcessor
from sarathi.feed.settings import FeedSettings

log = get_logger(__name__)


def feed_url(settings: FeedSettings, token: str | None = None) -> str:
    """Dhan's v2 feed URL with the settings' credentials (or `token`): never log it raw."""
    secret = settings.dhan_access_token.get_secret_value() if token is None else token
    return feed_connect_url(settings.dhan_feed_url, settings.dhan_client_id, secret)


def _token_file_line(settings: FeedSettings) -> str | None:
    path = settings.dhan_access_token_file
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        log.warning("feed_token_file_unreadable", path=str(path), error=type(exc).__name__)
        return None
    if lines and lines[0].strip():
        return lines[0].strip()
    log.warning("feed_token_file_empty", path=str(path))
    return None


class FeedToken:
    """The token each connection attempt uses: the latest of the shared token (`set`, from
    orders' renewals) and the token file (an operator's manual renewal: a new first line is
    adopted); at first the file's line when there is one, else `SARATHI_DHAN_ACCESS_TOKEN`."""

    def __init__(self, settings: FeedSettings) -> None:
        self._settings = settings
        self._token = settings.dhan_access_token.get_secret_value()
        self._file_line: str | None = None

    def set(self, token: SecretStr) -> None:
        self._token = token.get_secret_value()

    def current(self) -> str:
        """Blocking (reads the token file): call off the loop."""
        line = _token_file_line(self._settings)
        if line is not None and line != self._file_line:
            self._file_line = self._token = line
        return self._token


def connection_config(settings: FeedSettings, token: FeedToken | None = None) -> ConnectionConfig:
    auth_initial = settings.feed_auth_retry_initial_seconds
    source = token or FeedToken(settings)
    return ConnectionConfig(
        url=feed_url(settings),
        url_source=lambda: feed_url(settings, source.current()),
        auth_confirm_seconds=settings.feed_auth_confirm_seconds,
        auth_policy=Backoff(
            initial_seconds=auth_initial,
            cap_seconds=max(settings.feed_auth_retry_max_seconds, auth_initial),
            jitter=min(settings.feed_backoff_jitter, 0.2),  # 5-30 s stays 5-30 s, give or take
        ),
        policy=Backoff(
            initial_seconds=settings.feed_backoff_initial_seconds,
            cap_seconds=max(settings.feed_backoff_max_seconds, settings.feed_backoff_initial_seconds),
            jitter=settings.feed_backoff_jitter,
            max_attempts=settings.feed_reconnect_max_attempts,
            max_elapsed_seconds=settings.feed_reconnect_max_elapsed_seconds,
        ),
        cool_off_seconds=settings.feed_cool_off_seconds,
        handshake_timeout_seconds=settings.feed_handshake_timeout_seconds,
    )


def mode_chooser(settings: FeedSettings) -> FeedModeChooser:
    return FeedModeChooser(settings.index_mode, settings.contract_mode)


class FeedModeChooser:
    """Indices in the index mode, everything else in the contract mode."""

    def __init__(self, index_mode: FeedMode, contract_mode: FeedMode) -> None:
        self._index, self._contract = index_mode, contract_mode

    def __call__(self, instrument: FeedInstrument) -> FeedMode:
        return self._index if instrument.segment is ExchangeSegment.IDX_I else self._contract


class FeedService:
    """Everything the feed runs, for the lifespan and for tests (`app.state.feed`)."""

    def __init__(self, settings: FeedSettings, clock: Clock, metrics: FeedMetrics) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.manager: FeedManager | None = None
        self.recorder: DailyRecorder | None = None
        self.token = FeedToken(settings)
        self.tasks = BackgroundTasks("feed")

    @contextlib.asynccontextmanager
    async def running(self, bus: Bus) -> AsyncIterator[FeedManager]:
        settings = self.settings
        sink = await NatsTickSink.connect(settings.nats_url)
        if settings.feed_recorder_enabled:
            self.recorder = DailyRecorder(settings.feed_recorder_directory, self.metrics)
        watchdog = StalenessWatchdog(
            settings.feed_instrument_stale_seconds, settings.feed_connection_stale_seconds
        )
        processor = FrameProcessor(sink, self.clock, self.metrics, watchdog, self.recorder)
        calendar = MarketCalendar()

        async def events(event: Message) -> None:
            await bus.publish(subjects.feed_health(event.type), event)  # core NATS: no consumer

        manager = FeedManager(
            book=SubscriptionBook(
                mode_chooser(settings),
                settings.feed_max_connections,
                settings.feed_max_instruments_per_connection,
            ),
            config=connection_config(settings, self.token), clock=self.clock, processor=processor,
            watchdog=watchdog, metrics=self.metrics, events=events, session_open=calendar.open_session_start,
        )  # fmt: skip
        self.manager = manager
        if isinstance(self.clock, SimClock):
            join_clock_holds(self.clock.hooks, sink, manager)
        handlers = FeedHandlers(manager, self.clock)
        served = [
            await bus.serve(subjects.FEED_SUBSCRIBE, handlers.subscribe, accepts=SubscribeRequest),
            await bus.serve(subjects.FEED_UNSUBSCRIBE, handlers.unsubscribe, accepts=UnsubscribeRequest),
            await bus.serve(subjects.FEED_SNAPSHOT, handlers.snapshot, accepts=TickSnapshotRequest),
        ]
        manager.subscribe(FEED_REQUESTER, settings.indices)
        self.tasks.start("watchdog", manager.watch(settings.feed_watchdog_interval_seconds))
        if self.recorder is not None:
            self.tasks.start("recorder-flush", self._flush_loop(self.recorder))
        try:
            yield manager
        finally:
            for subscription in served:
                await subscription.stop()
            await self.tasks.stop()
            await manager.close()
            await sink.close()
            if self.recorder is not None:
                self.recorder.close()

    async def _flush_loop(self, recorder: DailyRecorder) -> None:
        while True:
            await self.clock.sleep(self.settings.feed_recorder_flush_interval_seconds)
            await asyncio.to_thread(recorder.flush)


def join_clock_holds(hooks: HoldHooks, sink: NatsTickSink, manager: FeedManager) -> None:
    """The held day (sim mode): done with T once every frame the sim sent is handled, its ticks
    flushed to NATS, and the sim has every subscription frame we wrote (`clock_hold`)."""
    processor = manager.processor

    def frames(held: ClockHeld) -> str | None:
        behind = held.frames.get("feed", 0) - processor.frames_done
        return f"{behind} feed frame(s) not handled" if behind > 0 else None

    hooks.checks["feed_frames"] = frames
    hooks.published.append(lambda: sink.published)
    hooks.flushes.append(sink.flush)
    hooks.relay = sink.relay  # the ticks' own connection: the others get them before the question
    processor.on_frames = hooks.stir
    hooks.sent_to_sim.append(lambda: sum(c.requests_sent for c in manager.connections.values()))


def build_app(settings: FeedSettings, clock: Clock | None = None) -> FastAPI:
    """The feed app; `clock` overrides the mode's clock (tests), else it is chosen at start-up."""
    service_metrics = ServiceMetrics("feed")
    service = FeedService(settings, clock or LiveClock(), FeedMetrics(service_metrics))

    @contextlib.asynccontextmanager
    async def workers(infrastructure: Infrastructure) -> AsyncIterator[None]:
        chosen = (
            contextlib.nullcontext(clock)
            if clock is not None
            else running_clock(settings.mode, infrastructure.bus, service="feed")
        )
        async with chosen as service_clock:
            service.clock = (
                service_clock  # market time in sim mode: tick times, staleness, the recording's day
            )
            async with (
                following_token(
                    infrastructure.bus, settings.shared_token_key(), service.clock, service.token.set,
                    tasks=service.tasks,
                ),
                service.running(infrastructure.bus),
            ):  # fmt: skip
                yield

    async def connected() -> None:
        if service.manager is None:
            raise NotReadyError("the feed has not started")
        await service.tasks.ready()
        await service.manager.ready()

    app, _ = build_service_app(
        service="feed",
        settings=settings,
        database=False,
        metrics=service_metrics,
        workers=workers,
        checks={"feed": connected},
        description="Dhan market-feed WebSocket to ticks on NATS; subscriptions, last-tick cache, recorder.",
    )
    app.state.feed = service
    return app
