"""The clock protocol of the held simulated day (docs/architecture.md §5; sim mode only).

The sim holds market time at each step T (`sarathi.sim.holds`) and asks every participant, on
`sim.clock.held`, whether it is done with T: once every clock stands at T (phase `clock`: the
loops due at T run), then once the sim's market has stepped T (phase `market`: its ticks and
fills are on the sockets). A participant answers on `sim.clock.done` when, at one instant,

- no handler of its bus is running (one asleep on the clock until after T is waiting, not busy),
  and no core message waits for its handler;
- none of its durable consumers has a message undelivered or unacknowledged (JetStream's count),
  and each KV key it watches has delivered its latest revision and been read (asked only when
  something was stored since the round before last, `check_consumers`);
- none of its market-time loops (`track_loop`) has work due at or before T;
- every check the service added (`SimClock.hooks.checks`) is met: e.g. it has handled every
  frame the sim says it sent on a socket it reads;

after flushing what it sent, with the count of everything it ever published. The sim calls a
round conclusive when everyone answered done and no count moved since the round before: then
no message can still be on its way (each was counted by its sender and, sent before the previous
answer, reached its receiver before this question). A participant that is still busy after
`timeout_seconds` answers anyway, saying what is pending; the sim reports that hold as let go.

Nothing here runs in paper or live mode: `running_clock` joins only with a `SimClock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time as walltime
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sarathi.common.bus import subjects
from sarathi.common.bus.activity import BusActivity
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import Subscription
from sarathi.common.bus.streams import SIM_CLOCK_KEY
from sarathi.common.clock import Clock, SimClock
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope, new_message_id
from sarathi.common.messages.sim import ClockDone, ClockHeld, SimClockState

log = get_logger(__name__)
POLL_SECONDS = 0.002
OWN_KEYS = frozenset({SIM_CLOCK_KEY})  # the clock itself arrives with each question


def track_loop(clock: Clock) -> None:
    """Call at the top of a market-time loop: in the held day the sim waits for its work at T.

    A no-op on any clock but the sim's."""
    task = asyncio.current_task()
    if isinstance(clock, SimClock) and task is not None:
        clock.track(task)


class HoldParticipant:
    """Answers the sim's `ClockHeld` questions for one service."""

    def __init__(self, service: str, bus: NatsBus, clock: SimClock, *, timeout_seconds: float = 4.0) -> None:
        self.service = service
        self._bus = bus
        self._clock = clock
        self._timeout = timeout_seconds
        self._activity = bus.activity = bus.activity or BusActivity()
        self._activity.on_change = clock.hooks.stir

    async def start(self) -> Subscription:
        return await self._bus.subscribe(
            subjects.SIM_CLOCK_HELD, self._on_held, accepts=ClockHeld, observed=False
        )

    def published(self) -> int:
        return self._activity.published + sum(count() for count in self._clock.hooks.published)

    async def busy(self, held: ClockHeld) -> str:
        """What this service still has to do with `held.at` ("" when nothing)."""
        at, clock = held.at, self._clock
        me = asyncio.current_task()
        handlers = sorted(
            subject
            for task, subject in self._activity.handlers.items()
            if task is not me and not clock.waiting_past(task, at)
        )
        parts = [f"handling {', '.join(handlers)}" if handlers else ""]
        backlog = self._bus.core_backlog()
        parts.append(f"{backlog} message(s) waiting for their handler" if backlog else "")
        watches = self._bus.watches_busy(ignore=OWN_KEYS)
        parts.append(f"reading {', '.join(watches)}" if watches else "")
        loops = clock.busy_loops(at)
        parts.append(f"loops due: {', '.join(loops)}" if loops else "")
        parts.extend(check(held) or "" for check in clock.hooks.checks.values())
        if any(parts):
            return "; ".join(p for p in parts if p)
        streams = held.check_streams
        if not streams:
            return ""
        consumers = await self._bus.consumers_busy(lambda task: clock.waiting_past(task, at), streams)
        behind = await self._bus.watches_behind(ignore=OWN_KEYS, streams=streams)
        return "; ".join(
            part
            for part in (
                f"consumers with work: {', '.join(consumers)}" if consumers else "",
                f"KV not yet received: {', '.join(behind)}" if behind else "",
            )
            if part
        )

    async def _on_held(self, message: ClockHeld) -> None:
        if message.lead is not None and message.relayed == (message.lead == self.service):
            return  # the lead answers the sim's question, the others the lead's relay of it
        follow(self._clock, message.clock)
        started, stirred = walltime.monotonic(), self._clock.hooks.stirred
        while True:
            stirred.clear()
            busy = await self.busy(message)
            if not busy or walltime.monotonic() - started >= self._timeout:
                break
            # Woken when a handler ends, a loop sleeps, frames are handled; else a poll, for
            # what nothing stirs (the outbox, JetStream's view).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stirred.wait(), POLL_SECONDS)
        if busy:
            log.warning("clock_hold_busy", at=message.at.isoformat(), phase=message.phase, busy=busy)
        for flush in self._clock.hooks.flushes:  # other connections; ours keeps its order
            await flush()
        if message.lead == self.service:
            await self._relay(message)
        stored_to = sorted(self._activity.take_stored())
        done = ClockDone(
            **envelope(
                message_id=new_message_id(),
                correlation_id=message.correlation_id,
                causation_id=message.message_id,
                event_time=message.at,
            ),
            at=message.at,
            phase=message.phase,
            round=message.round,
            service=self.service,
            published=self.published(),
            stored_to=stored_to,
            sent_to_sim=sum(count() for count in self._clock.hooks.sent_to_sim),
            busy=busy,
        )
        await self._bus.publish(subjects.SIM_CLOCK_DONE, done, observed=False)

    async def _relay(self, held: ClockHeld) -> None:
        """Pass the question on behind everything we sent, naming the streams we stored to."""
        streams = sorted(set(held.check_streams) | self._activity.stored())
        relayed = held.model_copy(update={"relayed": True, "check_streams": streams})
        relay = self._clock.hooks.relay
        if relay is not None:
            await relay(subjects.SIM_CLOCK_HELD, relayed.encode())
        else:
            await self._bus.publish(subjects.SIM_CLOCK_HELD, relayed, observed=False)


def follow(clock: SimClock, state: SimClockState) -> None:
    """Take `state` unless the clock already follows it or a later one (the sim makes states in
    wall order, and one arrives both in a `ClockHeld` and through the KV watch)."""
    if state != clock.state and state.wall_start >= clock.state.wall_start:
        clock.update(state)


@asynccontextmanager
async def participating(service: str | None, bus: object, clock: Clock) -> AsyncIterator[None]:
    """Answer the sim's clock questions as `service` while the block runs (sim clock only)."""
    if service is None or not isinstance(clock, SimClock) or not isinstance(bus, NatsBus):
        yield
        return
    subscription = await HoldParticipant(service, bus, clock).start()
    log.info("clock_protocol_joined", service=service)
    try:
        yield
    finally:
        await subscription.stop()
