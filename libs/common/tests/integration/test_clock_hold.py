"""The held day's clock protocol, a participant's side, on a real NATS server: it answers "done
with T" only once what it consumed and caused up to T is handled; never in paper or live mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import pytest

from sarathi.common.bus import subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import ConsumerOptions
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY
from sarathi.common.clock import LiveClock, SimClock
from sarathi.common.clock_hold import participating, track_loop
from sarathi.common.clock_source import running_clock
from sarathi.common.domain.calendar import IST
from sarathi.common.messages.base import Message, envelope, register
from sarathi.common.messages.sim import ALL_STREAMS, ClockDone, ClockHeld, SimClockState
from sarathi.common.settings import Mode

T0 = datetime(2026, 9, 16, 10, 0, 0, tzinfo=IST)
T = T0 + timedelta(seconds=5)


@register
class HoldPing(Message):
    type: Literal["test.HoldPing"] = "test.HoldPing"
    n: int


def a_ping(n: int) -> HoldPing:
    return HoldPing(**envelope(message_id=f"hold-ping-{n}", correlation_id="c", event_time=T0), n=n)


def held_at(at: datetime, *, round_: int = 1, lead: str | None = None) -> ClockHeld:
    return ClockHeld(
        **envelope(message_id=f"held-{at:%H%M%S}-{round_}", correlation_id="sim-clock", event_time=at),
        at=at,
        phase="clock",
        round=round_,
        frames={},
        clock=state_at(at),
        check_streams=[ALL_STREAMS],
        lead=lead,
    )


def state_at(at: datetime) -> SimClockState:
    """Market time standing at `at` (the sim's `hold_at`)."""
    return SimClockState(
        **envelope(correlation_id="sim-clock", event_time=at),
        market_start=at,
        wall_start=datetime.now(UTC),
        speed=Decimal(1000),
        paused=False,
        run_until=at,
    )


@asynccontextmanager
async def a_participant(url: str, clock: SimClock, service: str = "risk") -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(url, name=service)
    await bus.ensure_streams()
    try:
        async with participating(service, bus, clock):
            yield bus
    finally:
        await bus.close()


@asynccontextmanager
async def the_sim(url: str) -> AsyncIterator[tuple[NatsBus, asyncio.Queue[ClockDone]]]:
    bus = await NatsBus.connect(url, name="sim")
    answers: asyncio.Queue[ClockDone] = asyncio.Queue()

    async def collect(message: ClockDone) -> None:
        answers.put_nowait(message)

    await bus.subscribe(subjects.SIM_CLOCK_DONE, collect, accepts=ClockDone)
    try:
        yield bus, answers
    finally:
        await bus.close()


async def test_done_comes_only_after_the_durable_message_stored_before_the_question_is_handled(
    jetstream_clean: str,
) -> None:
    clock = SimClock(state_at(T0))
    handled: list[int] = []

    async def slow(message: HoldPing) -> None:
        await asyncio.sleep(0.3)  # a handler at work (wall time: it is not waiting for the market)
        handled.append(message.n)

    async with the_sim(jetstream_clean) as (sim, answers), a_participant(jetstream_clean, clock) as bus:
        await bus.consume(
            "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, slow, ConsumerOptions(), accepts=HoldPing
        )
        await sim.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(1))
        await sim.publish(subjects.SIM_CLOCK_HELD, held_at(T))
        done = await asyncio.wait_for(answers.get(), 5)
        assert handled == [1]
        assert (done.at, done.service, done.busy) == (T, "risk", "")
        assert clock.now() == T  # the question brought the clock with it


async def test_done_waits_for_a_market_time_loop_due_at_t(jetstream_clean: str) -> None:
    clock = SimClock(state_at(T0))
    ran: list[datetime] = []

    async def every_five_seconds(bus: NatsBus) -> None:
        track_loop(clock)
        due = T0
        while True:
            due += timedelta(seconds=5)
            await clock.sleep_until(due)
            await asyncio.sleep(0.2)  # the check's work
            await bus.publish(subjects.risk_event("Checked"), a_ping(len(ran)))
            ran.append(due)

    async with the_sim(jetstream_clean) as (sim, answers), a_participant(jetstream_clean, clock) as bus:
        loop = asyncio.create_task(every_five_seconds(bus), name="risk-loop")
        try:
            async with asyncio.timeout(5):  # the loop has started and sleeps until T before T is asked
                while not clock.waiting_past(loop, T0):  # noqa: ASYNC110 - no event for "asleep"
                    await asyncio.sleep(0.01)
            await sim.publish(subjects.SIM_CLOCK_HELD, held_at(T))
            done = await asyncio.wait_for(answers.get(), 30)  # bounded, generous on a loaded machine
            assert ran == [T]
            assert done.busy == ""
            assert done.published == 1  # what it caused is counted: the sim asks once more
        finally:
            loop.cancel()


async def test_a_handler_asleep_on_the_clock_until_after_t_does_not_hold_t(jetstream_clean: str) -> None:
    clock = SimClock(state_at(T0))

    async def waits_for_market_time(_: HoldPing) -> None:
        await clock.sleep_until(T + timedelta(seconds=3))  # e.g. a rate limit counting market time

    async with the_sim(jetstream_clean) as (sim, answers), a_participant(jetstream_clean, clock) as bus:
        await bus.consume(
            "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, waits_for_market_time, accepts=HoldPing
        )
        await sim.publish_durable(subjects.ORDER_CMD_SUBMIT, a_ping(1))
        await asyncio.sleep(0.2)  # delivered: the handler sleeps on the clock
        await sim.publish(subjects.SIM_CLOCK_HELD, held_at(T))
        done = await asyncio.wait_for(answers.get(), 5)
        assert done.busy == ""


@pytest.mark.parametrize("mode", [Mode.PAPER, Mode.LIVE])
async def test_outside_sim_mode_nothing_answers_and_nothing_is_counted(
    jetstream_clean: str, mode: Mode
) -> None:
    bus = await NatsBus.connect(jetstream_clean, name="live-service")
    await bus.ensure_streams()
    try:
        async with (
            the_sim(jetstream_clean) as (sim, answers),
            running_clock(mode, bus, service="risk") as clock,
        ):
            assert isinstance(clock, LiveClock)
            assert not isinstance(clock, SimClock)
            await bus.publish(subjects.risk_event("Checked"), a_ping(1))
            await sim.publish(subjects.SIM_CLOCK_HELD, held_at(T))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(answers.get(), 0.5)
            assert bus.activity is None  # no counters either
    finally:
        await bus.close()


@pytest.mark.parametrize("named", ["*", "the key", "the key and revision"])
async def test_done_waits_until_a_watched_kv_key_has_been_read_at_its_latest_revision(
    jetstream_clean: str, named: str
) -> None:
    clock = SimClock(state_at(T0))
    read: list[bytes] = []

    async with the_sim(jetstream_clean) as (sim, answers), a_participant(jetstream_clean, clock) as bus:

        async def watch() -> None:
            async for entry in bus.kv_watch(DAILY_LOSS_BUDGET_KEY):
                await asyncio.sleep(0.3)  # using the figure takes a while
                read.append(entry.value)

        await sim.kv_put(DAILY_LOSS_BUDGET_KEY, b"5000")
        watching = asyncio.create_task(watch())
        try:
            async with asyncio.timeout(5):
                while read != [b"5000"]:  # noqa: ASYNC110 - the watch has started and read the first value
                    await asyncio.sleep(0.01)
            revision = await sim.kv_put(DAILY_LOSS_BUDGET_KEY, b"1000")
            key = f"KV_control/{DAILY_LOSS_BUDGET_KEY}"
            streams = {"*": ["*"], "the key": [key], "the key and revision": [f"{key}@{revision}"]}[named]
            question = held_at(T).model_copy(update={"check_streams": streams})
            await sim.publish(subjects.SIM_CLOCK_HELD, question)
            done = await asyncio.wait_for(answers.get(), 5)
            assert read == [b"5000", b"1000"]
            assert done.busy == ""
        finally:
            watching.cancel()


async def test_the_others_answer_the_lead_s_relay_behind_what_the_lead_sent_and_check_what_it_stored(
    jetstream_clean: str,
) -> None:
    lead_clock, other_clock = SimClock(state_at(T0)), SimClock(state_at(T0))
    handled: list[int] = []

    async def handle(message: HoldPing) -> None:
        await asyncio.sleep(0.2)
        handled.append(message.n)

    async with (
        the_sim(jetstream_clean) as (sim, answers),
        a_participant(jetstream_clean, lead_clock, "risk") as lead,
        a_participant(jetstream_clean, other_clock, "orders") as other,
    ):
        await other.consume(
            "ORDER_CMD", "orders", subjects.ORDER_CMD_ALL, handle, ConsumerOptions(), accepts=HoldPing
        )

        async def check_at_t() -> None:  # the lead's loop: an exit at T
            track_loop(lead_clock)
            await lead_clock.sleep_until(T)
            await lead.publish_durable(subjects.ORDER_CMD_EXIT, a_ping(7))
            await lead_clock.sleep_until(T + timedelta(seconds=5))

        loop = asyncio.create_task(check_at_t(), name="risk-loop")
        try:
            question = held_at(T, lead="risk").model_copy(update={"check_streams": []})
            await sim.publish(subjects.SIM_CLOCK_HELD, question)
            first = await asyncio.wait_for(answers.get(), 5)
            second = await asyncio.wait_for(answers.get(), 5)
            assert [first.service, second.service] == ["risk", "orders"]  # the lead, then its relay's
            assert first.stored_to == ["ORDER_CMD"]
            assert handled == [7]  # asked about ORDER_CMD by the relay, though the sim asked nothing
            assert second.busy == ""
        finally:
            loop.cancel()
