"""The stale-data watchdog: per instrument and per connection, pure and clock-free.

The hot path records arrival times (`seen`, `connection_data`) and which instruments Dhan has
answered at all (`answered`: a prev-close, OI or tick packet): plain stores. `check(now,
opened_at=...)` runs every second or so and returns the transitions: `Stale` when something has
had no data for longer than its threshold, `Recovered` when data flows again (or the market
closed), `Unanswered` once for a subscribed instrument Dhan never sent anything for.

Only the session counts. Silence is measured from the latest of: the last data, the subscription
(or the connection's start) and the session's open, so an instrument subscribed at 08:30 is not
"43 minutes stale" at 09:15. While the market is closed nothing is judged and whatever was stale
recovers: Dhan sends no ticks then. An instrument Dhan never answered (not listed, expired, a
wrong id: it cannot tick) is not stale but `Unanswered`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sarathi.common.dhan.feed_requests import FeedInstrument

ALWAYS_OPEN = float("-inf")  # `opened_at` for a market that is open and has always been


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


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A subscribed instrument Dhan has sent nothing for (not even its prev-close) this long."""

    connection: int
    instrument: FeedInstrument
    age_seconds: float


Transition = Stale | Recovered | Unanswered


@dataclass
class StalenessWatchdog:
    instrument_threshold_seconds: float
    connection_threshold_seconds: float
    seen: dict[FeedInstrument, float] = field(default_factory=dict)  # last tick (epoch s), hot path
    answered: set[FeedInstrument] = field(default_factory=set)  # any packet since subscribed
    connection_data: dict[int, float] = field(default_factory=dict)  # last frame per connection
    _since: dict[FeedInstrument, tuple[int, float]] = field(default_factory=dict)
    _connection_since: dict[int, float] = field(default_factory=dict)
    _stale: dict[FeedInstrument | int, float] = field(default_factory=dict)  # → stale since
    _unanswered: set[FeedInstrument] = field(default_factory=set)

    def track(self, instrument: FeedInstrument, connection: int, now: float) -> None:
        self._since.setdefault(instrument, (connection, now))

    def untrack(self, instrument: FeedInstrument) -> None:
        self._since.pop(instrument, None)
        self.seen.pop(instrument, None)
        self.answered.discard(instrument)
        self._stale.pop(instrument, None)
        self._unanswered.discard(instrument)

    def connection_started(self, connection: int, now: float) -> None:
        self._connection_since.setdefault(connection, now)

    def connection_stopped(self, connection: int) -> None:
        self._connection_since.pop(connection, None)
        self.connection_data.pop(connection, None)
        self._stale.pop(connection, None)

    def connection_age(self, connection: int, now: float, opened_at: float | None = ALWAYS_OPEN) -> float:
        """Seconds of in-session silence on `connection` (0 while the market is closed)."""
        if opened_at is None:
            return 0.0
        since = max(self._connection_since.get(connection, now), opened_at)
        return max(0.0, now - max(self.connection_data.get(connection, since), since))

    def check(self, now: float, *, opened_at: float | None = ALWAYS_OPEN) -> list[Transition]:
        """Judge at `now`; `opened_at` is when the running session opened, None while closed."""
        if opened_at is None:
            return self._release(now)
        out: list[Transition] = []
        for connection, since in self._connection_since.items():
            out.extend(
                self._judge(
                    connection, connection=connection, instrument=None, since=max(since, opened_at),
                    last=self.connection_data.get(connection), now=now,
                    threshold=self.connection_threshold_seconds,
                )
            )  # fmt: skip
        for instrument, (connection, subscribed) in self._since.items():
            since = max(subscribed, opened_at)
            if instrument not in self.answered and instrument not in self.seen:
                if now - since > self.instrument_threshold_seconds and instrument not in self._unanswered:
                    self._unanswered.add(instrument)
                    out.append(Unanswered(connection, instrument, now - since))
                continue
            self._unanswered.discard(instrument)
            out.extend(
                self._judge(
                    instrument, connection=connection, instrument=instrument, since=since,
                    last=self.seen.get(instrument), now=now, threshold=self.instrument_threshold_seconds,
                )
            )  # fmt: skip
        return out

    def _release(self, now: float) -> list[Transition]:
        """The market is closed: whatever was stale recovers (nothing is expected any more)."""
        out: list[Transition] = []
        for key, stale_since in self._stale.items():
            if isinstance(key, int):
                out.append(Recovered(key, None, max(0.0, now - stale_since)))
            else:
                out.append(Recovered(self._since[key][0], key, max(0.0, now - stale_since)))
        self._stale.clear()
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

    @property
    def unanswered_count(self) -> int:
        return len(self._unanswered)
