"""The subscription book: who wants which instrument, on which connection, in which mode.

Reference counting: an instrument stays subscribed while at least one requester holds it; the
same requester asking twice holds it once. Assignment: a new instrument goes to the first
connection with room (at most `per_connection` each, at most `max_connections`), so the feed
opens a second socket only once the first is full. An instrument keeps its connection for as
long as it is subscribed. Every change returns the `Change`s (per connection and mode) that the
connections turn into Dhan request frames (at most 100 instruments each).

The mode is the feed's decision, not the requester's: `mode_for(instrument)` (indices in the
index mode, contracts in the contract mode, from settings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sarathi.common.dhan.feed_requests import (
    MAX_CONNECTIONS,
    MAX_INSTRUMENTS_PER_CONNECTION,
    FeedInstrument,
    FeedMode,
)

Key = FeedInstrument


@dataclass(frozen=True, slots=True)
class Change:
    """Subscribe (or unsubscribe) `instruments` in `mode` on connection number `connection`."""

    connection: int
    mode: FeedMode
    subscribe: bool
    instruments: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    changes: tuple[Change, ...] = ()
    accepted: tuple[Key, ...] = ()
    refused: tuple[tuple[Key, str], ...] = ()


@dataclass
class SubscriptionBook:
    mode_for: Callable[[Key], FeedMode]
    max_connections: int = MAX_CONNECTIONS
    per_connection: int = MAX_INSTRUMENTS_PER_CONNECTION
    _holders: dict[Key, set[str]] = field(default_factory=dict)
    _connection_of: dict[Key, int] = field(default_factory=dict)
    _load: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 1 <= self.max_connections <= MAX_CONNECTIONS:
            raise ValueError(f"max_connections must be 1..{MAX_CONNECTIONS}")
        if not 1 <= self.per_connection <= MAX_INSTRUMENTS_PER_CONNECTION:
            raise ValueError(f"per_connection must be 1..{MAX_INSTRUMENTS_PER_CONNECTION}")
        self._load = [0] * self.max_connections

    def __len__(self) -> int:
        return len(self._holders)

    def __contains__(self, key: object) -> bool:
        return key in self._holders

    @property
    def capacity(self) -> int:
        return self.max_connections * self.per_connection

    def load(self, number: int) -> int:
        """Instruments assigned to connection `number`."""
        return self._load[number]

    def connections_in_use(self) -> list[int]:
        return [number for number, load in enumerate(self._load) if load]

    def holders(self, key: Key) -> frozenset[str]:
        return frozenset(self._holders.get(key, ()))

    def connection_of(self, key: Key) -> int | None:
        return self._connection_of.get(key)

    def add(self, requester: str, keys: Iterable[Key]) -> Outcome:
        """`requester` holds `keys`; new instruments are assigned and subscribed."""
        new: list[Key] = []
        accepted: list[Key] = []
        refused: list[tuple[Key, str]] = []
        for key in dict.fromkeys(keys):
            holders = self._holders.get(key)
            if holders is not None:
                holders.add(requester)
                accepted.append(key)
                continue
            number = self._room()
            if number is None:
                refused.append((key, f"the feed is at Dhan's limit of {self.capacity} instruments"))
                continue
            self._holders[key] = {requester}
            self._connection_of[key] = number
            self._load[number] += 1
            new.append(key)
            accepted.append(key)
        return Outcome(self._changes(new, subscribe=True), tuple(accepted), tuple(refused))

    def remove(self, requester: str, keys: Iterable[Key]) -> Outcome:
        """`requester` no longer holds `keys`; instruments nobody holds are unsubscribed."""
        gone: list[Key] = []
        released: list[Key] = []
        for key in dict.fromkeys(keys):
            holders = self._holders.get(key)
            if holders is None or requester not in holders:
                continue
            holders.discard(requester)
            released.append(key)
            if not holders:
                gone.append(key)
        changes = self._changes(gone, subscribe=False)
        for key in gone:
            del self._holders[key]
            self._load[self._connection_of.pop(key)] -= 1
        return Outcome(changes, tuple(released))

    def on_connection(self, number: int) -> tuple[Change, ...]:
        """Everything connection `number` must subscribe after it (re)connects."""
        keys = [key for key, owner in self._connection_of.items() if owner == number]
        return self._changes(keys, subscribe=True)

    def _room(self) -> int | None:
        for number, load in enumerate(self._load):
            if load < self.per_connection:
                return number
        return None

    def _changes(self, keys: list[Key], *, subscribe: bool) -> tuple[Change, ...]:
        groups: dict[tuple[int, FeedMode], list[Key]] = defaultdict(list)
        for key in keys:
            groups[(self._connection_of[key], self.mode_for(key))].append(key)
        return tuple(
            Change(number, mode, subscribe, tuple(group)) for (number, mode), group in sorted(groups.items())
        )
