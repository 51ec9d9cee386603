"""Step holds: while anything is at stake, the simulated day moves one market step at a time.

The bar-close holds (`sarathi.cli.barriers`) make the entries independent of machine load. What
happens between bar closes was not: a trailing exit decided on the tick of step T travels
risk → NATS → orders → the sim while the market runs on, and at 200× a 5-second step is 25 ms
of wall time, so on a busy machine the exit could fill a step later and two runs drifted apart.

So while the paper broker holds a position or a working order, `sarathi run` stops market time
at every step T (the sim's `run_until` barrier) and lets it run to the next step only once the
system has finished with T:

- the sim has stepped T (its `next_step` is past T);
- orders has handled every order-update frame the sim sent, and published its outbox;
- no durable JetStream consumer has a message pending or unacknowledged (orders' commands,
  risk's and execution's position events, execution's signals and risk events);
- risk has processed the tick of T of every contract it held before T (`/progress`), with any
  exit that tick caused already on JetStream, and the sim's feed carries every contract risk
  holds (so the next step sends it a tick);

and the same counters read twice in a row, so nothing was on its way between two of the reads.
Most steps bring nothing but ticks, so a step right after a quiet one first takes a short way
(`StepHolds`). When the broker is flat the day runs free from bar close to bar close.

Risk runs with `evaluate_on_tick` in the day: a position is checked on the tick itself, which
arrives while the clock stands at T, so the check sees the same prices at the same market time in
every run; the 5-second loop, which fires as the clock reaches T and may run before or after that
tick, then finds nothing new to do with the same price.

A hold not met within `timeout_seconds` of wall time is let go, logged with the tick counters
along sim → feed → risk, and reported; after `give_up_after` such holds in a row the day stops
holding steps. All reads are read-only: the sim's `/sim/progress`,
orders' `/status`, risk's `/progress`, and JetStream's consumer info. The polling is wall-clock
pacing of other processes' work, not a market-time decision.
"""

from __future__ import annotations

import asyncio
import threading
import time as walltime
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import httpx
import nats
from nats.aio.client import Client as NatsClient

from sarathi.cli.control import ControlClient
from sarathi.cli.simclient import SimClient
from sarathi.common.logging import get_logger

T = TypeVar("T")
log = get_logger(__name__)
# The streams with durable consumers whose work decides trades (ARCHITECTURE §3).
PROBED_STREAMS = ("ORDER_CMD", "ORDER_EVT", "RISK_EVT", "SIGNALS")


@dataclass(frozen=True, slots=True)
class Consumers:
    """Durable consumers' backlog, and the sequences that move whenever one of them does work."""

    pending: int  # messages not yet delivered plus delivered and not yet acknowledged
    busy: tuple[str, ...]  # "STREAM/consumer" of those with a backlog
    marks: tuple[tuple[str, int, int], ...]  # (name, delivered stream seq, ack floor stream seq)


class JetStreamProbe:
    """JetStream consumer info from a synchronous caller (its own event loop on a daemon thread)."""

    def __init__(
        self, url: str, streams: tuple[str, ...] = PROBED_STREAMS, timeout_seconds: float = 5.0
    ) -> None:
        self._streams = streams
        self._timeout = timeout_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="jetstream-probe", daemon=True)
        self._thread.start()
        try:
            self._nc: NatsClient = self._run(nats.connect(url, connect_timeout=timeout_seconds))
        except BaseException:
            self._stop_loop()
            raise
        self._jsm = self._nc.jsm()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    def read(self) -> Consumers:
        return self._run(self._read())

    async def _read(self) -> Consumers:
        infos = await asyncio.gather(*(self._jsm.consumers_info(stream) for stream in self._streams))
        pending, busy, marks = 0, [], []
        for stream, consumers in zip(self._streams, infos, strict=True):
            for info in consumers:
                name = f"{stream}/{info.name}"
                backlog = (info.num_pending or 0) + (info.num_ack_pending or 0)
                pending += backlog
                if backlog:
                    busy.append(name)
                delivered = info.delivered.stream_seq if info.delivered else 0
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                marks.append((name, delivered or 0, floor or 0))
        return Consumers(pending, tuple(busy), tuple(sorted(marks)))

    def close(self) -> None:
        try:
            self._run(self._nc.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self._timeout)
        self._loop.close()


@dataclass(frozen=True, slots=True)
class StepState:
    """One read of everything that must be finished with market step `at`."""

    at: datetime
    stepped: bool
    exposed: bool  # the paper broker holds a position or a working order
    frames_behind: int  # order-update frames the sim sent that orders has not handled
    outbox_pending: int
    consumers: Consumers
    ticks_behind: tuple[str, ...]  # contracts risk held before `at` without their tick of `at`
    unsubscribed: tuple[str, ...]  # contracts risk holds that the sim's feed does not carry
    sim_activity: tuple[Any, ...]  # what changes when the sim's broker or feed does anything
    risk_positions: tuple[Any, ...]  # what changes when risk opens, exits or closes a position
    marks: tuple[Any, ...]  # every counter read: two equal reads in a row mean nothing moved

    @property
    def done(self) -> bool:
        return (
            self.stepped
            and not self.frames_behind
            and not self.outbox_pending
            and not self.consumers.pending
            and not self.ticks_behind
            and not self.unsubscribed
        )

    def describe(self) -> str:
        parts = [
            "" if self.stepped else "the sim has not stepped it",
            f"{self.frames_behind} order update(s) not handled by orders" if self.frames_behind else "",
            f"{self.outbox_pending} orders event(s) not published" if self.outbox_pending else "",
            f"consumers busy: {', '.join(self.consumers.busy)}" if self.consumers.pending else "",
            f"risk without the tick of {', '.join(self.ticks_behind)}" if self.ticks_behind else "",
            f"feed not carrying {', '.join(self.unsubscribed)}" if self.unsubscribed else "",
        ]
        return ", ".join(p for p in parts if p) or "nothing"


def _key(entry: dict[str, Any]) -> str:
    return f"{entry['segment']}:{entry['security_id']}"


def sim_activity(sim: dict[str, Any]) -> tuple[Any, ...]:
    return (
        sim["order_update_frames"],
        sim["working_orders"],
        sim["open_positions"],
        tuple(_key(s) for s in sim["feed_subscriptions"]),
    )


def risk_positions(risk: dict[str, Any]) -> tuple[Any, ...]:
    return (tuple(_key(c) for c in risk["contracts"]), risk["positions_open"], risk["positions_closing"])


def ticks_behind(at: datetime, risk: dict[str, Any]) -> tuple[str, ...]:
    """Contracts risk held before `at` whose tick of `at` it has not finished with."""
    behind = []
    for contract in risk["contracts"]:
        through = contract["ticks_through"]
        if datetime.fromisoformat(contract["held_since"]) < at and (
            through is None or datetime.fromisoformat(through) < at
        ):
            behind.append(_key(contract))
    return tuple(behind)


def step_state(
    at: datetime,
    sim: dict[str, Any],
    orders: dict[str, Any],
    consumers: Consumers,
    risk: dict[str, Any],
) -> StepState:
    """Judge the four reads (`/sim/progress`, orders' `/status`, JetStream, risk's `/progress`)."""
    carried = {_key(s) for s in sim["feed_subscriptions"]}
    watermarks = tuple(sorted((_key(c), c["ticks_through"]) for c in risk["contracts"]))
    return StepState(
        at=at,
        stepped=datetime.fromisoformat(sim["next_step"]) > at,
        exposed=bool(sim["working_orders"] or sim["open_positions"]),
        frames_behind=max(0, int(sim["order_update_frames"]) - int(orders["order_update_frames"])),
        outbox_pending=int(orders["outbox_pending"]),
        consumers=consumers,
        ticks_behind=ticks_behind(at, risk),
        unsubscribed=tuple(_key(c) for c in risk["contracts"] if _key(c) not in carried),
        sim_activity=sim_activity(sim),
        risk_positions=risk_positions(risk),
        marks=(
            sim["next_step"],
            sim_activity(sim),
            orders["order_update_frames"],
            orders.get("events_published"),
            consumers.marks,
            watermarks,
            risk_positions(risk),
        ),
    )


@dataclass
class StepStats:
    held: int = 0
    short: int = 0  # steps found done by the short way (sim and risk only)
    waited_seconds: float = 0.0
    timed_out: list[str] = field(default_factory=list)  # "HH:MM:SS: what was still pending"
    given_up: str | None = None  # "HH:MM:SS" from when steps were no longer held

    def summary(self) -> str:
        line = (
            f"held {self.held} market steps for {self.waited_seconds:.1f}s "
            f"({self.short} found quiet at the first look)"
        )
        if not self.timed_out:
            return line + "; every one was met"
        line += f"; {len(self.timed_out)} let go unmet ({'; '.join(self.timed_out[:3])})"
        if self.given_up is not None:
            line += f"; steps no longer held from {self.given_up} (only bar closes)"
        return line


@dataclass(frozen=True)
class Readers:
    """The four reads of a step (each returns the service's JSON, or JetStream's backlog)."""

    sim: Callable[[], dict[str, Any]]  # the sim's `/sim/progress`
    orders: Callable[[], dict[str, Any]]  # orders' `/status`
    consumers: Callable[[], Consumers]
    risk: Callable[[], dict[str, Any]]  # risk's `/progress`
    close: Callable[[], None] = lambda: None


def system_readers(
    sim: SimClient, risk: ControlClient, orders_url: str, nats_url: str, timeout_seconds: float = 5.0
) -> Readers:
    """Readers over the running system's HTTP APIs and NATS (close them when the day is done)."""
    orders = httpx.Client(base_url=orders_url, timeout=timeout_seconds)
    jetstream = JetStreamProbe(nats_url, timeout_seconds=timeout_seconds)

    def close() -> None:
        orders.close()
        jetstream.close()

    return Readers(
        sim=sim.progress,
        orders=lambda: orders.get("/status").raise_for_status().json(),
        consumers=jetstream.read,
        risk=lambda: risk.get("/progress"),
        close=close,
    )


class StepHolds:
    """Reads the system's progress on a market step and waits until it is done with it.

    Most steps while a position is open bring nothing but its ticks. So after a step that ended
    quiet, the next one first takes the short way: the sim's progress, then risk's. If the sim's
    broker sent no order update, its orders, positions and feed are as they were, and risk has
    the tick of the step with the same positions open and closing (an exit marks its position
    closing before it is sent), nothing else can have moved. Otherwise the long way: all four
    reads, until two in a row are done and equal.
    """

    def __init__(
        self,
        readers: Readers,
        *,
        speed: float,
        timeout_seconds: float = 5.0,
        poll_seconds: float = 0.001,
        stats: StepStats | None = None,
        diagnose: Callable[[], str] | None = None,
        give_up_after: int = 3,
    ) -> None:
        self._read = readers
        self._give_up_after = give_up_after
        self._let_go_in_a_row = 0
        self._diagnose = diagnose
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="step-read")
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self._speed = speed
        self._quiet: StepState | None = None  # the last step, if it ended with nothing in flight
        self.stats = stats if stats is not None else StepStats()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._read.close()

    def read(self, at: datetime, sim: dict[str, Any] | None = None) -> StepState:
        """All four reads; the last three at once (two equal reads in `wait` rule out a race)."""
        sim = sim if sim is not None else self._read.sim()
        orders = self._pool.submit(self._read.orders)
        consumers = self._pool.submit(self._read.consumers)
        risk = self._pool.submit(self._read.risk)
        return step_state(at, sim, orders.result(), consumers.result(), risk.result())

    def wait(self, at: datetime, *, quick: bool) -> StepState:
        """Until step `at` is done (see the class docstring), or the timeout.

        `quick`: the short way may be tried, because the previous hold was the step before this
        one. Not at a bar close, where signals, execution and orders act without the sim's
        broker having seen anything yet.
        """
        started = walltime.monotonic()
        sim = self._stepped(at, started)
        state = self._short_way(at, sim) if quick else None
        if state is not None:
            self.stats.short += 1
        else:
            state = self._long_way(at, sim, started)
        self._quiet = state if state.done else None
        self._let_go_in_a_row = 0 if state.done else self._let_go_in_a_row + 1
        if self._let_go_in_a_row >= self._give_up_after and self.stats.given_up is None:
            # Something no step will finish (say orders lost its order-update socket and the
            # frame counts no longer meet): 5 s a step would take hours. Bar closes stay held.
            self.stats.given_up = f"{at:%H:%M:%S}"
            log.error("step_holds_given_up", at=at.isoformat(), pending=state.describe())
        self.stats.held += 1
        self.stats.waited_seconds += walltime.monotonic() - started
        return state

    @property
    def given_up(self) -> bool:
        """`give_up_after` holds in a row were let go: the day stops holding steps."""
        return self.stats.given_up is not None

    def _stepped(self, at: datetime, started: float) -> dict[str, Any]:
        """The sim's progress once it has stepped `at` (or the timeout), paced by its clock."""
        while True:
            sim = self._read.sim()
            if (
                datetime.fromisoformat(sim["next_step"]) > at
                or walltime.monotonic() - started > self._timeout
            ):
                return sim
            # Wall-clock pacing of an HTTP poll; market time is the sim's.
            left = (at - datetime.fromisoformat(sim["now"])).total_seconds() / self._speed
            walltime.sleep(max(self._poll, left))

    def _short_way(self, at: datetime, sim: dict[str, Any]) -> StepState | None:
        quiet = self._quiet
        if quiet is None or datetime.fromisoformat(sim["next_step"]) <= at:
            return None
        if sim_activity(sim) != quiet.sim_activity:
            return None
        risk = self._read.risk()
        if risk_positions(risk) != quiet.risk_positions or ticks_behind(at, risk):
            return None
        return replace(quiet, at=at)

    def _long_way(self, at: datetime, sim: dict[str, Any], started: float) -> StepState:
        previous: StepState | None = None
        state = self.read(at, sim)
        while not (state.done and previous is not None and previous.done and previous.marks == state.marks):
            if walltime.monotonic() - started > self._timeout:
                self.stats.timed_out.append(f"{at:%H:%M:%S}: {state.describe()}")
                log.warning(
                    "step_hold_let_go",
                    at=at.isoformat(),
                    pending=state.describe(),
                    counters=self._diagnose() if self._diagnose else None,
                )
                break
            if not state.done:
                walltime.sleep(self._poll)
            previous, state = state, self.read(at)
        return state
