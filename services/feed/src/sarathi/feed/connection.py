"""One feed connection: connect, (re)subscribe everything it owns, pump frames, heal.

A session is one socket's life: open it, send the subscription frames for every instrument the
book assigns to this connection, then hand each batch of frames to the processor until the
socket ends. How it ended decides what follows (`domain.disconnects`): reconnect after a capped,
jittered backoff; cool off at least `cool_off_seconds` (805, HTTP 429); or stop for good (bad or
expired credentials), counted and logged in words an operator can act on. A session that
received data resets the attempt count. The URL carries the token: only its redacted form is
ever logged.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sarathi.common.backoff import Backoff
from sarathi.common.clock import Clock
from sarathi.common.dhan.feed_requests import build_requests
from sarathi.common.logging import get_logger, redact_text
from sarathi.feed.adapters.ws import Batch, FeedSocket, SocketOpenError, open_socket
from sarathi.feed.domain.disconnects import (
    CONNECT_FAILED,
    DROPPED,
    HANDSHAKE_RATE_LIMITED,
    HANDSHAKE_UNAUTHORIZED,
    Action,
    Verdict,
    verdict_for_reason,
)
from sarathi.feed.domain.subscriptions import Change
from sarathi.feed.metrics import FeedMetrics
from sarathi.feed.pipeline import FrameProcessor

log = get_logger(__name__)

CONNECTED, RECONNECTING, AUTH_WAITING, STOPPED = 1, 0, -1, -2
AUTH_REFUSED_STATUSES = frozenset({401, 403})


def _default_auth_policy() -> Backoff:
    return Backoff(initial_seconds=5.0, cap_seconds=30.0, jitter=0.2)


@dataclass
class ConnectionConfig:
    url: str  # with the token of the settings: never log it
    policy: Backoff
    cool_off_seconds: float
    handshake_timeout_seconds: float
    auth_policy: Backoff = field(default_factory=_default_auth_policy)  # caps are not used
    url_source: Callable[[], str] | None = None  # each attempt's URL (a renewed token); blocking I/O
    auth_confirm_seconds: float = 5.0  # open this long without a refusal: the credentials are good

    async def current_url(self) -> str:
        if self.url_source is None:
            return self.url
        return await asyncio.to_thread(self.url_source)


class FeedConnection:
    def __init__(
        self,
        number: int,
        config: ConnectionConfig,
        *,
        clock: Clock,
        processor: FrameProcessor,
        metrics: FeedMetrics,
        subscriptions: Callable[[int], tuple[Change, ...]],
        on_stopped: Callable[[int, Verdict], None],
        on_auth: Callable[[int, Verdict | None], None] = lambda _n, _v: None,
        rng: random.Random | None = None,
    ) -> None:
        self.number = number
        self._config = config
        self._clock = clock
        self._processor = processor
        self._metrics = metrics
        self._subscriptions = subscriptions
        self._on_stopped = on_stopped
        self._on_auth = on_auth  # (number, verdict) when waiting starts or changes; None when over
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._socket: FeedSocket | None = None
        self.sessions = 0
        self.stopped: Verdict | None = None
        self.auth_waiting: Verdict | None = None  # Dhan refused the credentials; retrying slowly
        self.connected = asyncio.Event()
        self.has_data = False  # a packet arrived on the current session (Dhan's only subscribe ack)
        self.last_verdict: Verdict | None = None  # how the latest session ended
        self._state(RECONNECTING)
        self.requests_sent = 0  # subscription frames written (the held day's clock protocol)

    @property
    def redacted_url(self) -> str:
        return redact_text(self._config.url)

    def _state(self, value: int) -> None:
        if value in (CONNECTED, RECONNECTING) and self.auth_waiting is not None:
            value = AUTH_WAITING  # a socket open but not yet proven by data stays "waiting"
        self._metrics.connection_state.labels(str(self.number)).set(value)
        self._metrics.auth_waiting.labels(str(self.number)).set(1 if self.auth_waiting else 0)

    @property
    def ready(self) -> bool:
        """Connected, with credentials Dhan has not refused since."""
        return self.connected.is_set() and self.auth_waiting is None and self.stopped is None

    def send(self, change: Change) -> None:
        """Send one subscription change now if connected; otherwise the next session sends it."""
        socket = self._socket
        if socket is None:
            return
        for text in build_requests(change.mode, list(change.instruments), subscribe=change.subscribe):
            socket.send_text(text)
            self.requests_sent += 1

    async def run(self) -> None:
        attempts = 0
        auth_attempts = 0
        failing_since = self._clock.now()
        while True:
            verdict, got_data = await self._session()
            self.last_verdict = verdict
            self._metrics.disconnects.labels(verdict.label).inc()
            if verdict.action is Action.AUTH_WAIT:
                auth_attempts += 1
                self._wait_for_credentials(verdict)
                delay = self._config.auth_policy.delay(auth_attempts, self._rng.random())
                log.debug(
                    "feed_auth_retry", connection=self.number, reason=verdict.label, attempt=auth_attempts,
                    delay_seconds=round(delay, 3),
                )  # fmt: skip
                await self._clock.sleep(delay)
                continue
            auth_attempts = 0
            if got_data:
                attempts, failing_since = 0, self._clock.now()
            if verdict.action is Action.STOP:
                self._stop(verdict)
                return
            attempts += 1
            elapsed = (self._clock.now() - failing_since).total_seconds()
            if self._config.policy.exhausted(attempts, elapsed):
                self._stop(
                    Verdict(
                        verdict.reason, f"gave up after {attempts} attempts: {verdict.message}", Action.STOP
                    )
                )
                return
            floor = self._config.cool_off_seconds if verdict.action is Action.COOL_OFF else 0.0
            delay = self._config.policy.delay(attempts, self._rng.random(), floor)
            log.warning(
                "feed_reconnecting", connection=self.number, reason=verdict.label, why=verdict.message,
                attempt=attempts, delay_seconds=round(delay, 3), url=self.redacted_url,
            )  # fmt: skip
            self._metrics.reconnects.labels(str(self.number)).inc()
            await self._clock.sleep(delay)

    def _wait_for_credentials(self, verdict: Verdict) -> None:
        """Enter (or stay in) the waiting state; log and count only when its reason changes."""
        previous = self.auth_waiting
        self.auth_waiting = verdict
        self._state(RECONNECTING)
        if previous is not None and previous.label == verdict.label:
            return
        self._metrics.auth_failures.labels(verdict.label).inc()
        policy = self._config.auth_policy
        log.error(
            "feed_auth_waiting", connection=self.number, reason=verdict.label, why=verdict.message,
            retry_seconds=f"{policy.initial_seconds:g}-{policy.cap_seconds:g}", url=self.redacted_url,
        )  # fmt: skip
        self._on_auth(self.number, verdict)

    async def _confirm_credentials(self) -> None:
        """Dhan refuses credentials within moments of the socket opening (REFERENCE §6.1); a socket
        still open after `auth_confirm_seconds`, data or not (a quiet market), has them accepted."""
        await self._clock.sleep(self._config.auth_confirm_seconds)
        self._credentials_accepted()

    def _credentials_accepted(self) -> None:
        """Data flowed (or the socket stayed open) after Dhan had refused the credentials: the
        waiting is over."""
        waited = self.auth_waiting
        if waited is None:
            return
        self.auth_waiting = None
        self._state(CONNECTED)
        log.info(
            "feed_auth_recovered", connection=self.number, after_reason=waited.label, url=self.redacted_url
        )
        self._on_auth(self.number, None)

    def _stop(self, verdict: Verdict) -> None:
        self.stopped = verdict
        self._state(STOPPED)
        if verdict.auth_failure:
            self._metrics.auth_failures.labels(verdict.label).inc()
        log.error(
            "feed_stopped",
            connection=self.number,
            reason=verdict.label,
            why=verdict.message,
            url=self.redacted_url,
        )
        self._on_stopped(self.number, verdict)

    async def _session(self) -> tuple[Verdict, bool]:
        queue: asyncio.Queue[Batch | None] = asyncio.Queue()
        waiting = self.auth_waiting is not None  # each attempt is not news: the waiting was logged
        try:
            socket = await open_socket(
                await self._config.current_url(),
                queue,
                self._clock.now,
                timeout_seconds=self._config.handshake_timeout_seconds,
            )
        except SocketOpenError as exc:
            (log.debug if waiting else log.warning)(
                "feed_connect_failed", connection=self.number, error=str(exc), url=self.redacted_url
            )
            if exc.status in AUTH_REFUSED_STATUSES:
                return HANDSHAKE_UNAUTHORIZED, False
            return (HANDSHAKE_RATE_LIMITED if exc.status == 429 else CONNECT_FAILED), False
        self.sessions += 1
        self._socket = socket
        for change in self._subscriptions(self.number):  # no await in between: no change is lost
            self.send(change)
        self._state(CONNECTED)
        self.connected.set()
        (log.debug if waiting else log.info)(
            "feed_connected", connection=self.number, session=self.sessions, url=self.redacted_url
        )
        verdict, got_data = DROPPED, False
        confirm = asyncio.ensure_future(self._confirm_credentials()) if waiting else None
        try:
            while (item := await queue.get()) is not None:
                frames, received = item
                socket.maybe_resume()
                got_data = self.has_data = True
                reasons = await self._processor.process(self.number, frames, received)
                if reasons:
                    verdict = verdict_for_reason(reasons[-1])
                    socket.disconnect()
                elif verdict is DROPPED:
                    self._credentials_accepted()
        finally:
            if confirm is not None:
                confirm.cancel()
            self._socket = None
            self.has_data = False
            self.connected.clear()
            self._state(RECONNECTING)
            socket.disconnect()
        return verdict, got_data
