"""The stale-data watchdog: per instrument and per connection, pure and clock-free.

The hot path records arrival times (`seen`, `connection_data`): plain dict stores. `check(now)`
runs every second or so and returns the transitions: `Stale` when something has had no data
for longer than its threshold, `Recovered` when data flows again. Ages count from the moment an
instrument was subscribed (or a connection started) when nothing has arrived yet. While the
market is closed, instruments are not judged (silence is normal then); connections still are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sarathi.common.dhan.feed_requests import FeedInstrument


@dataclass(frozen=True, slots=True)
class Stale:
    connection: int
    instrument: FeedInstrument | None  # None: the whole connection
    age_seconds: float
    threshold_seconds: float
    last_data_at: float | None  # epoch seconds, None if nothing ever arrived


@dataclass(frozen=True, slots=True)
class Recovered:
    connection: int
    instrument: FeedInstrument | None
    stale_for_seconds: float


Transition = Stale | Recovered


@dataclass
class StalenessWatchdog:
    instrument_threshold_seconds: float
    connection_threshold_seconds: float
    seen: dict[FeedInstrument, float] = field(default_factory=dict)  # last data (epoch s), hot path
    connection_data: dict[int, float] = field(default_factory=dict)  # last frame per connection
    _since: dict[FeedInstrument, tuple[int, float]] = field(default_factory=dict)
    _connection_since: dict[int, float] = field(default_factory=dict)
    _stale: dict[FeedInstrument | int, float] = field(default_factory=dict)  # → stale since

    def track(self, instrument: FeedInstrument, connection: int, now: float) -> None:
        self._since.setdefault(instrument, (connection, now))

    def untrack(self, instrument: FeedInstrument) -> None:
        self._since.pop(instrument, None)
        self.seen.pop(instrument, None)
        self._stale.pop(instrument, None)

    def connection_started(self, connection: int, now: float) -> None:
        self._connection_since.setdefault(connection, now)

    def connection_stopped(self, connection: int) -> None:
        self._connection_since.pop(connection, None)
        self.connection_data.pop(connection, None)
        self._stale.pop(connection, None)

    def connection_age(self, connection: int, now: float) -> float:
        last = self.connection_data.get(connection, self._connection_since.get(connection, now))
        return max(0.0, now - last)

    def check(self, now: float, *, market_open: bool = True) -> list[Transition]:
        out: list[Transition] = []
        for connection, since in self._connection_since.items():
            last = self.connection_data.get(connection)
            out.extend(
                self._judge(
                    connection, connection=connection, instrument=None, since=since, last=last, now=now,
                    threshold=self.connection_threshold_seconds,
                )
            )  # fmt: skip
        if market_open:
            for instrument, (connection, since) in self._since.items():
                last = self.seen.get(instrument)
                out.extend(
                    self._judge(
                        instrument, connection=connection, instrument=instrument, since=since, last=last,
                        now=now, threshold=self.instrument_threshold_seconds,
                    )
                )  # fmt: skip
        return out

    def _judge(
        self,
        key: FeedInstrument | int,
        *,
        connection: int,
        instrument: FeedInstrument | None,
        since: float,
        last: float | None,
        now: float,
        threshold: float,
    ) -> list[Transition]:
        age = now - (last if last is not None and last > since else since)
        stale_since = self._stale.get(key)
        if age > threshold and stale_since is None:
            self._stale[key] = now - age
            return [Stale(connection, instrument, age, threshold, last)]
        if age <= threshold and stale_since is not None:
            del self._stale[key]
            return [Recovered(connection, instrument, max(0.0, now - age - stale_since))]
        return []

    @property
    def stale_count(self) -> int:
        return len(self._stale)
