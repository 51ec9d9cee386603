"""Restart what died, with a capped exponential backoff: the loop of `sarathi up`'s owner process.

Each pass (`Watchdog.check`) polls every component, which also reaps a dead one (no zombie: a
zombie PostgreSQL would hold its lock file against its own restart). A dead component is
restarted after 1 s, then 2, 4, 8, 16 and 30 s (`RestartPolicy`) while it keeps dying without staying
up a minute; after `failing_after` such deaths in a row it is reported as "failing" (the state
file and `sarathi status` show it, the log says it) and still retried every 30 s, never in a
tight loop. Restarting is the component's own business (`Supervised.restart`): the same command
line, the same port. What happened is written into the run state's records
(`sarathi.cli.runstate.Component`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sarathi.cli.runstate import Component
from sarathi.common.backoff import Backoff


class Supervised(Protocol):
    """A process `sarathi up` owns and can start again the same way."""

    @property
    def name(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def url(self) -> str: ...

    @property
    def data(self) -> str:
        """Where its data lives ("" if nowhere)."""
        ...

    def pid(self) -> int | None: ...

    def poll(self) -> int | None:
        """Its exit code once it has died (and reaps it), None while it runs."""
        ...

    def restart(self) -> None:
        """Start it again, same command line, same port; raises if it could not start."""
        ...


RESTART_DELAYS = Backoff(initial_seconds=1.0, cap_seconds=30.0, jitter=0.0)


@dataclass(frozen=True)
class RestartPolicy:
    delays: Backoff = RESTART_DELAYS
    stable_seconds: float = 60.0  # up this long after a restart: the next death counts as the first
    failing_after: int = 5

    def delay(self, failures: int) -> float:
        """Seconds before the restart that follows `failures` deaths in a row (1, 2, 4 … cap)."""
        return self.delays.delay(failures, 0.0)


def utc_now() -> datetime:
    return datetime.now(UTC)  # wall time of a process's death, for the operator


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Watchdog:
    components: Sequence[Supervised]
    records: Mapping[str, Component]
    say: Callable[[str], None]
    backoff: RestartPolicy = field(default_factory=RestartPolicy)
    wall: Callable[[], datetime] = utc_now
    _due: dict[str, float] = field(default_factory=dict)
    _up_since: dict[str, float] = field(default_factory=dict)

    def check(self, now: float) -> bool:
        """One pass at monotonic time `now`; True when a record changed (save the state)."""
        changed = False
        for component in self.components:
            record = self.records[component.name]
            if record.state == "running":
                changed |= self._watch(component, record, now)
            elif now >= self._due.get(component.name, now):
                self._restart(component, record, now)
                changed = True
        return changed

    def _watch(self, component: Supervised, record: Component, now: float) -> bool:
        up_since = self._up_since.setdefault(component.name, now)
        code = component.poll()
        if code is None:
            if record.failures and now - up_since >= self.backoff.stable_seconds:
                record.failures = 0
                return True
            return False
        stable = now - up_since >= self.backoff.stable_seconds
        record.failures = 1 if stable else record.failures + 1
        record.last_exit_code, record.last_exit_at = code, _iso(self.wall())
        record.pid = None
        self._schedule(component.name, record, now, f"{component.name} exited with code {code}")
        return True

    def _restart(self, component: Supervised, record: Component, now: float) -> None:
        try:
            component.restart()
        except Exception as exc:  # any failure to start is retried later, never in a tight loop
            record.failures += 1
            self._schedule(component.name, record, now, f"{component.name} did not restart: {exc}")
            return
        record.restarts += 1
        record.pid, record.state, record.next_restart_at = component.pid(), "running", None
        self._up_since[component.name] = now
        self.say(f"{component.name} restarted (pid {record.pid}, restart {record.restarts})")

    def _schedule(self, name: str, record: Component, now: float, why: str) -> None:
        delay = self.backoff.delay(record.failures)
        self._due[name] = now + delay
        record.next_restart_at = _iso(self.wall() + timedelta(seconds=delay))
        failing = record.failures >= self.backoff.failing_after
        record.state = "failing" if failing else "restarting"
        keeps = f"; it keeps dying ({record.failures} times in a row)" if failing else ""
        self.say(f"{why}; restarting in {delay:.0f}s{keeps}")
