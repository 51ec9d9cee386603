"""The market-feed sockets of the sim: who is connected, what each subscribed, and the fan-out.

Everything here is synchronous and runs on the event loop: the socket endpoint hands requests
in, the engine hands market steps in, and bytes go out through each connection's `Outbox`.

Decisions where Dhan is silent (REFERENCE §6.2–6.3, all UNVERIFIED):
- an unknown or unlisted instrument in a subscribe request is ignored silently;
- subscribing an instrument again (in any mode) replaces its mode and resends prev-close;
- unsubscribe removes the instrument whatever mode it was subscribed in;
- a malformed request (not JSON, unknown code, bad segment or id) is ignored and counted;
- more than 100 instruments in one message, or more than 5000 on one connection, ends the
  connection with a code-50 packet, reason 804.

Outside the session (SARATHI_SIM_FEED_STATUS_ON_SUBSCRIBE): a subscribe request gets the prev-close
packets and then one market-status packet; the engine sends no ticks until the session opens
(REFERENCE §6.5: code 7 "sent alongside prev-close and on market open/close"; whether Dhan also
sends it on a subscribe during the session is UNVERIFIED: `always` does). Before the open of a
trading day the "previous close" is the last session's close (Dhan's day roll-over: when exactly
it happens before 09:15 is UNVERIFIED).

Two ways out: `publish_step` encodes the market's quotes (the synthetic market, one packet per
message as Dhan), `send_recorded` forwards a replayed frame verbatim. A replaying hub is built
with `prev_close_on_subscribe=False`: its sockets carry recorded bytes only.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from enum import StrEnum

from sarathi.common.dhan.feed_requests import (
    MAX_CONNECTIONS,
    MAX_INSTRUMENTS_PER_CONNECTION,
    FeedMode,
    FeedRequestError,
    parse_request,
)
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.logging import get_logger
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import MarketView, Quote
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws import packets
from sarathi.sim.ws.outbox import GOING_AWAY, NORMAL_CLOSURE, POLICY_VIOLATION, Outbox

log = get_logger(__name__)

TOO_MANY_INSTRUMENTS = 804
CONNECTION_LIMIT = 805
TOKEN_EXPIRED = 807


class StatusOnSubscribe(StrEnum):
    """When a subscribe request is followed by a market-status packet (module docstring)."""

    CLOSED = "closed"  # only while the session is closed (issue #17: Dhan outside the session)
    ALWAYS = "always"  # after every subscribe (REFERENCE §6.5 "alongside prev-close")


class FeedConnection:
    """One authenticated socket: its subscriptions (in subscription order) and its outbox."""

    def __init__(self, number: int, client_id: str, outbox: Outbox) -> None:
        self.number = number
        self.client_id = client_id
        self.outbox = outbox
        self.subscriptions: dict[SimInstrument, FeedMode] = {}

    def disconnect(self, reason: int, code: int = POLICY_VIOLATION) -> None:
        """Send a code-50 packet with Dhan's `reason`, then close."""
        self.outbox.close(code, f"dhan reason {reason}", last=packets.disconnect(reason))


class FeedHub:
    def __init__(
        self,
        universe: Universe,
        market: MarketView,
        metrics: SimMetrics,
        *,
        now: Callable[[], datetime],
        max_connections: int = MAX_CONNECTIONS,
        max_instruments: int = MAX_INSTRUMENTS_PER_CONNECTION,
        prev_close_on_subscribe: bool = True,
        calendar: MarketCalendar | None = None,
        status_on_subscribe: StatusOnSubscribe = StatusOnSubscribe.CLOSED,
    ) -> None:
        self._universe = universe
        self._market = market
        self._metrics = metrics
        self.frames_sent = 0  # frames handed to the sockets (the held day's `ClockHeld.frames`)
        self.requests_received = 0  # client frames handled (the held day's `ClockDone.sent_to_sim`)
        self._now = now
        self._max_connections = max_connections
        self._max_instruments = max_instruments
        self._prev_close_on_subscribe = prev_close_on_subscribe
        self._calendar = calendar or MarketCalendar()
        self._status_on_subscribe = status_on_subscribe
        self._numbers = itertools.count(1)
        self._connections: dict[int, FeedConnection] = {}  # insertion order = connection age
        self.instant: datetime | None = None  # the market instant the feed is at (set by the engine)

    def __iter__(self) -> Iterator[FeedConnection]:
        return iter(list(self._connections.values()))

    def __len__(self) -> int:
        return len(self._connections)

    # -- connections ---------------------------------------------------------------------------

    def register(self, client_id: str, outbox: Outbox) -> FeedConnection:
        """Admit a socket; beyond the limit the client's OLDEST sockets get 805 and are closed."""
        connection = FeedConnection(next(self._numbers), client_id, outbox)
        self._connections[connection.number] = connection
        mine = [c for c in self._connections.values() if c.client_id == client_id]
        for oldest in mine[: max(0, len(mine) - self._max_connections)]:
            self._disconnect(oldest, CONNECTION_LIMIT)
        self._metrics.feed_connections.set(len(self._connections))
        return connection

    def unregister(self, connection: FeedConnection) -> None:
        self._connections.pop(connection.number, None)
        self._metrics.feed_connections.set(len(self._connections))

    def _disconnect(self, connection: FeedConnection, reason: int) -> None:
        self._metrics.feed_disconnects.labels(reason=str(reason)).inc()
        connection.disconnect(reason)
        self._connections.pop(connection.number, None)

    def drop_all(self) -> None:
        """The `drop_feed` fault: every socket is closed at once, no packet first."""
        for connection in list(self._connections.values()):
            connection.outbox.close(GOING_AWAY, "feed dropped by fault")
        self._connections.clear()
        self._metrics.feed_connections.set(0)

    def expire_all(self) -> None:
        """The `expire_token` fault: 807 to every socket, then close."""
        for connection in list(self._connections.values()):
            self._disconnect(connection, TOKEN_EXPIRED)
        self._metrics.feed_connections.set(0)

    def subscribed(self) -> list[tuple[str, str]]:
        """Every instrument some socket subscribes now, as sorted unique (wire segment, security id)."""
        return sorted(
            {(i.segment.wire, i.security_id) for c in self._connections.values() for i in c.subscriptions}
        )

    # -- requests ------------------------------------------------------------------------------

    def handle_request(self, connection: FeedConnection, text: str | bytes) -> None:
        """Apply one client frame (subscribe / unsubscribe / disconnect)."""
        self.requests_received += 1
        try:
            request = parse_request(text)
        except FeedRequestError as exc:
            self._metrics.feed_bad_requests.labels(reason=str(exc.reason)).inc()
            if exc.reason == TOO_MANY_INSTRUMENTS:
                self._disconnect(connection, TOO_MANY_INSTRUMENTS)
            else:
                log.info("feed_request_ignored", connection=connection.number, reason=exc.reason)
            return
        if request.is_disconnect:
            connection.outbox.close(NORMAL_CLOSURE, "client asked to disconnect")
            self.unregister(connection)
            return
        assert request.mode is not None  # parse_request sets a mode on every (un)subscribe
        found = [self._universe.find(i.segment, i.security_id) for i in request.instruments]
        listed = [i for i in found if i is not None]
        if not request.subscribe:
            for instrument in listed:
                connection.subscriptions.pop(instrument, None)
            return
        new = {i for i in listed if i not in connection.subscriptions}
        if len(connection.subscriptions) + len(new) > self._max_instruments:
            self._metrics.feed_bad_requests.labels(reason=str(TOO_MANY_INSTRUMENTS)).inc()
            self._disconnect(connection, TOO_MANY_INSTRUMENTS)
            return
        at = self.instant or self._now()
        for instrument in listed:
            connection.subscriptions[instrument] = request.mode
            if not self._prev_close_on_subscribe:
                continue
            quote = self._quote(instrument, at)
            if quote is not None:
                quote = self._before_open(instrument, quote, at)
                self._send(connection, packets.encode_prev_close(instrument, quote))
        if listed and self._prev_close_on_subscribe and self._status_due(at):
            self._send(connection, packets.market_status())

    def _status_due(self, at: datetime) -> bool:
        closed = not self._calendar.is_open(at.astimezone(IST))  # the engine's rule for ticks
        return closed or self._status_on_subscribe is StatusOnSubscribe.ALWAYS

    def _before_open(self, instrument: SimInstrument, quote: Quote, at: datetime) -> Quote:
        """Before the open of a trading day the model still shows the last session, whose own
        previous close is a day older: the day has rolled over, its close is the previous close."""
        local, exchange = at.astimezone(IST), instrument.underlying.spec.exchange
        day = local.date()
        calendar = self._calendar
        if not calendar.is_trading_day(day, exchange) or local >= calendar.session_open(day, exchange):
            return quote
        return dataclasses.replace(quote, prev_close=quote.ltp, prev_oi=quote.oi)

    # -- fan-out -------------------------------------------------------------------------------

    def _quote(self, instrument: SimInstrument, at: datetime) -> Quote | None:
        try:
            return self._market.quote(instrument, at)
        except Exception:  # a market-model bug must not take the feed down; it is counted
            self._metrics.engine_errors.labels(part="market").inc()
            log.exception("market_quote_failed", security_id=instrument.security_id)
            return None

    def _send(self, connection: FeedConnection, frame: bytes) -> None:
        if connection.outbox.put(frame):
            self.frames_sent += 1
            self._metrics.feed_messages.inc()

    def broadcast(self, frame: bytes) -> None:
        for connection in self:
            self._send(connection, frame)

    def send_recorded(self, frame: bytes, instruments: Collection[SimInstrument]) -> int:
        """Send one recorded message verbatim, once, to every socket subscribed (in any mode) to
        any of `instruments`; returns how many sockets it went to."""
        sent = 0
        for connection in self:
            if any(instrument in connection.subscriptions for instrument in instruments):
                self._send(connection, frame)
                sent += 1
        return sent

    def publish_step(self, at: datetime, *, closing: bool = False) -> None:
        """Send every subscription its packets for market instant `at` (one quote per instrument).

        `closing`: the session has just closed, and these packets carry the day's close.
        """
        self.instant = at
        quotes: dict[SimInstrument, Quote | None] = {}
        encoded: dict[tuple[SimInstrument, FeedMode], list[bytes]] = {}
        for connection in self:
            for instrument, mode in list(connection.subscriptions.items()):
                key = (instrument, mode)
                if key not in encoded:
                    if instrument not in quotes:
                        quotes[instrument] = self._quote(instrument, at)
                    quote = quotes[instrument]
                    encoded[key] = (
                        []
                        if quote is None
                        else packets.frames(instrument, quote, mode, session_closed=closing)
                    )
                for frame in encoded[key]:
                    self._send(connection, frame)
