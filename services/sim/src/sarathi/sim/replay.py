"""Replay mode: play a feed recording (`sarathi.common.dhan.recording`) back as the sim's market.

Time: a frame's market instant IS its receive time (UTC nanoseconds, truncated to the
microsecond): the clock starts, by default, at the first frame's receive time
(`first_frame_instant`), and its speed says how fast the recording plays. A clock started later
skips ahead; a clock set back rewinds. Frames strictly before the clock's start instant are
applied to the market silently (so quotes are right from the first step), never sent.

At each engine step `advance(at)` plays, in file order, every frame whose instant is `≤ at`:
its packets (decoded with the shared `FeedDecoder`) update the `TickMarket`, and the frame's
bytes go VERBATIM to every feed socket subscribed to any instrument in it — once, whole, even
when the frame also holds packets of instruments the socket did not subscribe (Dhan sends one
packet per message; a recording may hold several). A frame holding a market-status packet goes
to every socket. Frames with nothing a client could use (disconnect packets addressed to the
recorder's own connection, heartbeats, unknown or truncated packets, ids the sim's universe does
not list) go to nobody and are counted. The engine also steps at each frame's own instant, so
frames leave at their market times, not rounded to the grid.

Everything is a pure function of the file and the step instants: the same recording and clock
settings give the same bytes, in the same order, at the same market instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sarathi.common.dhan import feed_codec as codec
from sarathi.common.dhan.recording import ReadReport, RecordedFrame, RecordingError, read_frames
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.common.logging import get_logger
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.tick_market import TickMarket
from sarathi.sim.telemetry import SimMetrics
from sarathi.sim.ws.feed_hub import FeedHub

log = get_logger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INSTRUMENT_PACKETS = (codec.Ticker, codec.Quote, codec.Full, codec.OpenInterest, codec.PrevClose)


def frame_instant(received_ns: int) -> datetime:
    """The market instant of a frame received at `received_ns` (IST, microsecond precision)."""
    return (_EPOCH + timedelta(microseconds=received_ns // 1000)).astimezone(IST)


def first_frame_instant(path: Path) -> datetime:
    """The receive instant of the recording's first frame (raises `RecordingError` if it has none)."""
    for frame in read_frames(path):
        return frame_instant(frame.received_ns)
    raise RecordingError(f"{path} holds no frames: nothing to replay")


class ReplayPlayer:
    """Plays one recording into a `TickMarket` and a `FeedHub` as market time passes."""

    def __init__(
        self, path: Path, universe: Universe, market: TickMarket, hub: FeedHub, metrics: SimMetrics
    ) -> None:
        self._path = path
        self._universe = universe
        self._market = market
        self._hub = hub
        self._metrics = metrics
        self._decoder = codec.FeedDecoder()
        self._instruments: dict[tuple[int, int], SimInstrument | None] = {}
        self._frames: Iterator[RecordedFrame] | None = None
        self._next: tuple[datetime, bytes] | None = None
        self._played_until: datetime | None = None  # frames up to here are applied
        self._seek_to: datetime | None = (
            None  # pending restart, done at the next call (lazily: no I/O at build)
        )
        self.report = ReadReport()
        self.frames_sent = 0

    # -- position ------------------------------------------------------------------------------

    def restart(self, origin: datetime) -> None:
        """The clock (re)started at `origin`: the next step plays from there."""
        self._seek_to = origin

    def _open(self) -> None:
        if self._frames is not None:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
        self.report = ReadReport()
        self._frames = read_frames(self._path, self.report)
        self._market.reset()
        self._played_until = None
        self._pull()

    def _pull(self) -> None:
        """Read the next frame; a file that cannot be read (gone, corrupt) ends the replay there."""
        assert self._frames is not None
        try:
            frame = next(self._frames, None)
        except (OSError, RecordingError):
            self._metrics.engine_errors.labels(part="replay").inc()
            log.exception("replay_read_failed", path=str(self._path))
            frame = None
        self._next = None if frame is None else (frame_instant(frame.received_ns), frame.frame)

    def _settle(self) -> None:
        """Carry out a pending restart: rewind if needed, then apply (unsent) what precedes it."""
        if self._frames is None:
            self._open()
        origin, self._seek_to = self._seek_to, None
        if origin is None:
            return
        if self._played_until is not None and origin <= self._played_until:
            self._open()  # back in time: the market state must be rebuilt from the start
        while self._next is not None and self._next[0] < origin:
            self._play(self._next[1], send=False)
            self._pull()
        self._played_until = origin - timedelta(microseconds=1)
        if self.report.truncated_tail_bytes:
            log.warning("replay_truncated_tail", path=str(self._path), bytes=self.report.truncated_tail_bytes)

    def next_instant(self) -> datetime | None:
        """The market instant of the next frame to play, or None when the recording is done."""
        if self._frames is None or self._seek_to is not None:
            self._settle()
        return self._next[0] if self._next is not None else None

    # -- playing -------------------------------------------------------------------------------

    def advance(self, until: datetime) -> None:
        """Play every frame whose instant is `≤ until`, in file order."""
        if self._frames is None or self._seek_to is not None:
            self._settle()
        while self._next is not None and self._next[0] <= until:
            self._play(self._next[1], send=True)
            self._pull()
        self._played_until = until

    def _instrument(self, packet: codec.Packet) -> SimInstrument | None:
        key = (packet.segment, packet.security_id)
        if key not in self._instruments:
            try:
                segment = ExchangeSegment.from_code(packet.segment)
            except ValueError:
                self._instruments[key] = None
            else:
                self._instruments[key] = self._universe.find(segment, str(packet.security_id))
        return self._instruments[key]

    def _play(self, frame: bytes, *, send: bool) -> None:
        packets = self._decoder.decode(frame)
        self._market.apply_packets(packets)
        if not send:
            self._metrics.replay_frames.labels(outcome="skipped").inc()
            return
        if any(isinstance(p, codec.MarketStatus) for p in packets):
            self._hub.broadcast(frame)
            self._metrics.replay_frames.labels(outcome="broadcast").inc()
            self.frames_sent += 1
            return
        instruments = {
            instrument
            for p in packets
            if isinstance(p, _INSTRUMENT_PACKETS) and (instrument := self._instrument(p)) is not None
        }
        if instruments:
            self._hub.send_recorded(frame, instruments)
            self._metrics.replay_frames.labels(outcome="sent").inc()
            self.frames_sent += 1
        else:
            self._metrics.replay_frames.labels(outcome="unroutable").inc()
