"""The sim's side of the held day's clock protocol (`sarathi.common.clock_hold`; docs/architecture.md §5).

With `SARATHI_SIM_CLOCK_PARTICIPANTS` set, market time never runs on its own. After the engine
steps T (ticks and fills on the sockets) the sim asks whether everyone is done with T (phase
`market`); the feed answers first and relays the question behind its ticks, so the others see
the ticks before the question. Rounds repeat until one in which everyone answered done, no
participant but the lead published anything since the round before, the sim sent no frame
during the round, and the sim has every subscription frame the feed wrote. Then it moves market
time straight to the next step T' (`SimClockController.hold_at`) and asks again (phase `clock`,
led by risk: the loops due at T' run, on the prices of T), and returns to the engine, which
steps T'. No market time passes between steps, so the day costs only what the system does.

A participant that does not answer within `timeout_seconds`, or answers still busy, makes the
hold *let go*: logged and counted in `GET /sim/clock` (`holds`), never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time as walltime
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import Subscription
from sarathi.common.logging import get_logger
from sarathi.common.messages.base import envelope, new_message_id
from sarathi.common.messages.sim import ALL_STREAMS, ClockDone, ClockHeld
from sarathi.sim.clock import SimClockController
from sarathi.sim.engine import Engine
from sarathi.sim.ws.feed_hub import FeedHub
from sarathi.sim.ws.order_updates import OrderUpdateHub

log = get_logger(__name__)
Phase = Literal["clock", "market"]
MAX_LET_GO_KEPT = 20
# Who answers first and relays the question to the others behind what it sent: the feed (its
# ticks) once the market has stepped, risk (its check's exits and loss budget) once the clock has.
LEADS: dict[Phase, str] = {"market": "feed", "clock": "risk"}


@dataclass
class HoldStats:
    held: int = 0  # phases settled (two a step)
    rounds: int = 0
    wall_seconds: float = 0.0
    let_go: int = 0
    let_go_examples: list[str] = field(default_factory=list)  # "HH:MM:SS phase: who: what"

    def view(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "rounds": self.rounds,
            "wall_seconds": round(self.wall_seconds, 3),
            "let_go": self.let_go,
            "let_go_examples": list(self.let_go_examples),
        }


class ClockHolds:
    """Holds market time at every step until `participants` are done with it (see the module)."""

    def __init__(
        self,
        controller: SimClockController,
        engine: Engine,
        feed: FeedHub,
        order_updates: OrderUpdateHub,
        participants: tuple[str, ...],
        *,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._controller = controller
        controller.holding = True  # market time never runs on its own: only `hold_at` moves it
        self._engine = engine
        self._feed = feed
        self._order_updates = order_updates
        self.participants = frozenset(participants)
        self._timeout = timeout_seconds
        self._round_floor = 0.001  # wall seconds between rounds while a request is on its way
        self._bus: NatsBus | None = None
        self._subscription: Subscription | None = None
        self._question: tuple[datetime, Phase, int] | None = None
        self._answers: dict[str, ClockDone] = {}
        self._all_in = asyncio.Event()
        self._counts: dict[str, int] = {}  # each participant's `published` at the last round
        self._stored: set[str] = {ALL_STREAMS}  # streams stored to in the last round: ask about them
        self.stats = HoldStats()

    async def start(self, bus: NatsBus) -> None:
        self._subscription = await bus.subscribe(
            subjects.SIM_CLOCK_DONE, self._on_done, accepts=ClockDone, observed=False
        )
        self._bus = bus

    async def stop(self) -> None:
        self._bus = None
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def after_step(self, at: datetime) -> None:
        """The engine's hook: hold `at` until it is done, then move to the next step and hold it."""
        if self._bus is None or self._controller.state.paused:
            return
        started = walltime.monotonic()
        await self._settle(at, "market")
        upcoming = self._engine.next_instant
        self._controller.hold_at(upcoming)
        if self._controller.now() >= upcoming:
            await self._settle(upcoming, "clock")
        self.stats.wall_seconds += walltime.monotonic() - started

    def frames(self) -> dict[str, int]:
        return {"feed": self._feed.frames_sent, "order_update": self._order_updates.frames_sent}

    async def _settle(self, at: datetime, phase: Phase) -> None:
        lead = LEADS[phase] if LEADS[phase] in self.participants else None
        round_, started = 0, walltime.monotonic()
        while self._bus is not None:
            round_ += 1
            self.stats.rounds += 1
            announced = self.frames()
            answers = await self._ask(self._bus, at, phase, round_, lead)
            pending = [f"{name}: {a.busy}" for name, a in sorted(answers.items()) if a.busy]
            pending += [f"{name}: no answer" for name in sorted(self.participants - set(answers))]
            if pending:
                self._let_go(at, phase, pending)
                self._counts, self._stored = {}, {ALL_STREAMS}
                return
            moved = [n for n, a in answers.items() if n != lead and a.published != self._counts.get(n)]
            self._counts = {name: a.published for name, a in answers.items()}
            self._stored = {stream for a in answers.values() for stream in a.stored_to}
            requested = sum(a.sent_to_sim for a in answers.values())
            if requested > self._feed.requests_received:  # a subscription still on its way here
                if walltime.monotonic() - started > self._timeout:
                    missing = requested - self._feed.requests_received
                    self._let_go(at, phase, [f"sim: {missing} feed request(s) not received"])
                    self._counts, self._stored = {}, {ALL_STREAMS}
                    return
                await asyncio.sleep(self._round_floor)  # wall-clock pacing: let the socket deliver
                continue
            if not moved and self.frames() == announced:
                # What the lead sent reached the others before its relayed question; what was
                # stored was asked about by everyone this round: nothing is on its way.
                self._stored = set()
                self.stats.held += 1
                return

    async def _ask(
        self, bus: NatsBus, at: datetime, phase: Phase, round_: int, lead: str | None
    ) -> dict[str, ClockDone]:
        self._question, self._answers = (at, phase, round_), {}
        self._all_in.clear()
        held = ClockHeld(
            **envelope(message_id=new_message_id(), correlation_id="sim-clock", event_time=at),
            at=at,
            phase=phase,
            round=round_,
            frames=self.frames(),
            clock=self._controller.state,
            check_streams=sorted(self._stored),
            lead=lead,
        )
        await bus.publish(subjects.SIM_CLOCK_HELD, held, observed=False)
        with contextlib.suppress(TimeoutError):  # reported by the caller: who did not answer
            await asyncio.wait_for(self._all_in.wait(), self._timeout)
        return dict(self._answers)

    async def _on_done(self, message: ClockDone) -> None:
        if message.service not in self.participants:
            return
        if (message.at, message.phase, message.round) != self._question:
            return  # an answer to a question already let go
        self._answers[message.service] = message
        if self.participants <= set(self._answers):
            self._all_in.set()

    def _let_go(self, at: datetime, phase: Phase, pending: list[str]) -> None:
        self.stats.let_go += 1
        what = f"{at:%H:%M:%S} {phase}: {'; '.join(pending)}"
        if len(self.stats.let_go_examples) < MAX_LET_GO_KEPT:
            self.stats.let_go_examples.append(what)
        log.error("clock_hold_let_go", at=at.isoformat(), phase=phase, pending=pending)
