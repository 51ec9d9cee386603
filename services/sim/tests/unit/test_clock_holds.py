"""The sim's side of the clock protocol on a real NATS server: market time moves to the next step
only once every participant said it is done; a participant that never answers is reported."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.domain.calendar import IST
from sarathi.common.messages.base import envelope
from sarathi.common.messages.sim import ClockDone, ClockHeld
from sarathi.sim.clock import SimClockController
from sarathi.sim.holds import ClockHolds

T = datetime(2026, 9, 16, 10, 0, 0, tzinfo=IST)
STEP = timedelta(seconds=5)


def held_controller() -> SimClockController:
    """As the held day starts it: paused at T, the day's barrier set, resumed."""
    controller = SimClockController(T, Decimal(1000))
    controller.holding = True
    controller.set(T, Decimal(1000), paused=True)
    controller.run_until(T + timedelta(hours=1))
    controller.resume()
    return controller


def holds_over(controller: SimClockController, participants: tuple[str, ...], timeout: float) -> ClockHolds:
    engine = SimpleNamespace(next_instant=T + STEP)
    feed = SimpleNamespace(frames_sent=0, requests_received=0)
    updates = SimpleNamespace(frames_sent=0)
    parts: list[Any] = [engine, feed, updates]
    return ClockHolds(controller, *parts, participants, timeout_seconds=timeout)


@pytest.fixture
async def buses(jetstream_clean: str) -> AsyncIterator[tuple[NatsBus, NatsBus]]:
    sim = await NatsBus.connect(jetstream_clean, name="sim")
    service = await NatsBus.connect(jetstream_clean, name="participant")
    yield sim, service
    await service.close()
    await sim.close()


async def answering(bus: NatsBus, service: str, delay: float, seen: Callable[[ClockHeld], None]) -> None:
    async def on_held(message: ClockHeld) -> None:
        seen(message)
        await asyncio.sleep(delay)  # at work
        done = ClockDone(
            **envelope(correlation_id="sim-clock", event_time=message.at),
            at=message.at, phase=message.phase, round=message.round, service=service, published=0,
        )  # fmt: skip
        await bus.publish(subjects.SIM_CLOCK_DONE, done)

    await bus.subscribe(subjects.SIM_CLOCK_HELD, on_held, accepts=ClockHeld)


async def test_market_time_moves_to_the_next_step_only_once_the_participant_is_done(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    sim, service = buses
    controller = held_controller()
    holds = holds_over(controller, ("risk",), timeout=5.0)
    questions: list[ClockHeld] = []
    await answering(service, "risk", 0.3, questions.append)
    await holds.start(sim)

    stepping = asyncio.create_task(holds.after_step(T))
    await asyncio.sleep(0.2)
    assert controller.now() == T  # held: the participant is still at work on T
    await asyncio.wait_for(stepping, 10)

    assert controller.now() == T + STEP  # moved straight to the next step, and held there
    assert controller.state.run_until == T + STEP
    assert [(q.at, q.phase) for q in questions][:1] == [(T, "market")]
    assert (questions[-1].at, questions[-1].phase) == (T + STEP, "clock")
    assert holds.stats.held == 2
    assert holds.stats.let_go == 0


async def test_a_participant_that_never_answers_makes_the_hold_let_go_and_it_is_reported(
    buses: tuple[NatsBus, NatsBus],
) -> None:
    sim, _ = buses
    controller = held_controller()
    holds = holds_over(controller, ("risk",), timeout=0.3)
    await holds.start(sim)

    await asyncio.wait_for(holds.after_step(T), 10)

    assert holds.stats.let_go == 2  # the market phase of T and the clock phase of T + 5 s
    assert holds.stats.let_go_examples[0] == "10:00:00 market: risk: no answer"
    assert controller.now() == T + STEP  # let go, never stuck


def test_while_holding_market_time_never_runs_on_its_own() -> None:
    controller = held_controller()
    assert controller.state.run_until == T  # it stands where it was until `hold_at` moves it
    controller.hold_at(T + STEP)
    assert controller.now() == T + STEP
