"""Bar-close barriers: the simulated day holds market time at every bar close until the system
has decided about that bar, so a seed gives the same bars, signals and entries however busy the
machine is. The exits between bar closes are held step by step (`sarathi.cli.lockstep`).

At 200× five milliseconds of wall time are a market second. Left running, the market would move
on while execution is still choosing a strike: the option chain it reads, the price its order
fills at, even whether a signal is "too old" would depend on the machine's load. So the day moves
the sim's `run_until` barrier one bar close at a time. At each close `at` it waits until

- the sim's clock stands at `at` (every service's clock stops there at the same moment);
- signals has stored its decision on the bar ending at `at`, for every underlying;
- execution has decided on every BULLISH or BEARISH signal of that bar;
- the orders service has no command in flight (RECEIVED, SENDING or UNKNOWN);

and only then lets the market run to the next close. An order placed while the clock stands
fills at the next market step, on that step's quote, whenever the order arrived.

A barrier that is not met within `timeout_seconds` of wall time is let go and counted.

The checks read the owners' tables, never write them; the polling is wall-clock pacing of
other processes' work, not a market-time decision.
"""

from __future__ import annotations

import time as walltime
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from sarathi.common.db.engine import create_engine

BAR = timedelta(minutes=5)
IN_FLIGHT = ("RECEIVED", "SENDING", "UNKNOWN")

_PENDING_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM signals.signal WHERE bar_close_at = :at) AS decided,
      (SELECT count(*) FROM signals.signal s
         WHERE s.bar_close_at = :at AND s.direction <> 'NEUTRAL'
           AND NOT EXISTS (SELECT 1 FROM execution.decision d WHERE d.signal_id = s.signal_id))
        AS undecided,
      (SELECT count(*) FROM orders.command WHERE status IN :in_flight) AS in_flight
    """
).bindparams(bindparam("in_flight", value=IN_FLIGHT, expanding=True))


@dataclass(frozen=True, slots=True)
class Pending:
    """What the system still owes a bar close (all zero: done)."""

    clock_behind: bool
    signals_missing: int
    undecided_signals: int
    commands_in_flight: int

    @property
    def done(self) -> bool:
        return not (
            self.clock_behind or self.signals_missing or self.undecided_signals or self.commands_in_flight
        )

    def describe(self) -> str:
        parts = [
            "the clock has not reached it" if self.clock_behind else "",
            f"{self.signals_missing} signal decision(s) missing" if self.signals_missing else "",
            f"{self.undecided_signals} signal(s) without an entry decision" if self.undecided_signals else "",
            f"{self.commands_in_flight} order command(s) in flight" if self.commands_in_flight else "",
        ]
        return ", ".join(p for p in parts if p) or "nothing"


@dataclass
class BarrierStats:
    held: int = 0
    waited_seconds: float = 0.0
    timed_out: list[str] = field(default_factory=list)  # "HH:MM: what was still pending"

    def summary(self) -> str:
        line = f"held the market at {self.held} bar closes for {self.waited_seconds:.1f}s of decisions"
        if not self.timed_out:
            return line + "; every one was met"
        return line + f"; {len(self.timed_out)} let go unmet ({'; '.join(self.timed_out[:3])})"


class BarCloseBarriers:
    """Checks a bar close against the owners' tables (one short-lived connection per check)."""

    def __init__(
        self,
        database_url: str,
        underlyings: int,
        *,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 0.005,
        stats: BarrierStats | None = None,
    ) -> None:
        self._engine: Engine = create_engine(database_url)
        self._underlyings = underlyings
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self.stats = stats if stats is not None else BarrierStats()

    def close(self) -> None:
        self._engine.dispose()

    @staticmethod
    def next_close(after: datetime, end: datetime) -> datetime:
        """The first bar close after `after` (bars are aligned to 09:15), capped at `end`."""
        session_open = after.replace(hour=9, minute=15, second=0, microsecond=0)
        elapsed = after - session_open
        bars = elapsed // BAR + 1 if elapsed >= timedelta(0) else 1
        return min(session_open + BAR * bars, end)

    @staticmethod
    def is_close(at: datetime) -> bool:
        """Whether `at` is a bar close (bars are aligned to 09:15)."""
        session_open = at.replace(hour=9, minute=15, second=0, microsecond=0)
        return at > session_open and (at - session_open) % BAR == timedelta(0)

    def pending(self, at: datetime, market_now: datetime) -> Pending:
        with self._engine.connect() as connection:
            row = connection.execute(_PENDING_SQL, {"at": at}).one()
        return Pending(
            clock_behind=market_now < at,
            signals_missing=max(0, self._underlyings - int(row.decided)),
            undecided_signals=int(row.undecided),
            commands_in_flight=int(row.in_flight),
        )

    def wait(self, at: datetime, market_now: Callable[[], datetime]) -> Pending:
        """Until everything owed to the bar close `at` is done, or the timeout; returns the last check."""
        started = walltime.monotonic()
        while True:
            pending = self.pending(at, market_now())
            waited = walltime.monotonic() - started
            if pending.done or waited > self._timeout:
                break
            walltime.sleep(self._poll)
        self.stats.held += 1
        self.stats.waited_seconds += waited
        if not pending.done:
            self.stats.timed_out.append(f"{at:%H:%M}: {pending.describe()}")
        return pending
