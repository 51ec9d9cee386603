import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.clock import IST, FakeClock, LiveClock, SimClock
from sarathi.common.messages.sim import SimClockState

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)


class ManualWall:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


def a_clock_state(
    wall: ManualWall, market: datetime = OPEN, speed: int = 1, *, paused: bool = False
) -> SimClockState:
    return SimClockState(
        message_id="clock-1", correlation_id="sim", event_time=market, market_start=market,
        wall_start=wall.value, speed=Decimal(speed), paused=paused,
    )  # fmt: skip


async def test_fake_clock_wakes_a_sleeper_only_when_advanced_past_its_deadline() -> None:
    clock = FakeClock(OPEN)
    sleeper = asyncio.create_task(clock.sleep(5))
    await asyncio.sleep(0)
    clock.advance(4.9)
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.advance(0.1)
    await asyncio.wait_for(sleeper, timeout=1)
    assert clock.now() == OPEN + timedelta(seconds=5)


async def test_fake_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = FakeClock(OPEN)
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("late", 10)), asyncio.create_task(sleeper("early", 3))]
    await asyncio.sleep(0)
    clock.advance(60)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=1)
    assert woke == ["early", "late"]


def test_fake_clock_never_moves_backwards() -> None:
    clock = FakeClock(OPEN)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        FakeClock(datetime(2026, 9, 15, 9, 15))  # noqa: DTZ001 - the point of the test


def test_live_clock_reports_ist() -> None:
    assert LiveClock().now().utcoffset() == timedelta(hours=5, minutes=30)


def test_sim_clock_runs_market_time_at_its_speed() -> None:
    wall = ManualWall()
    clock = SimClock(a_clock_state(wall, speed=300), wall=wall)
    wall.advance(2.0)
    assert clock.now() == OPEN + timedelta(minutes=10)


def test_sim_clock_stands_still_while_paused_and_follows_a_resume() -> None:
    wall = ManualWall()
    clock = SimClock(a_clock_state(wall, speed=100), wall=wall)
    clock.update(a_clock_state(wall, OPEN + timedelta(minutes=1), speed=100, paused=True))
    wall.advance(50)
    assert clock.now() == OPEN + timedelta(minutes=1)
    clock.update(a_clock_state(wall, OPEN + timedelta(minutes=1), speed=100))
    wall.advance(0.6)
    assert clock.now() == OPEN + timedelta(minutes=2)


async def test_sim_clock_sleep_until_wakes_when_a_published_jump_passes_the_deadline() -> None:
    wall = ManualWall()
    clock = SimClock(a_clock_state(wall), wall=wall)
    sleeper = asyncio.create_task(clock.sleep_until(OPEN + timedelta(minutes=5)))
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.update(a_clock_state(wall, OPEN + timedelta(minutes=6)))
    await asyncio.wait_for(sleeper, timeout=1)
    assert clock.now() >= OPEN + timedelta(minutes=5)


async def test_sim_clock_sleeps_in_wall_time_scaled_by_speed() -> None:
    real_wall = ManualWall()
    real_wall.value = datetime.now(UTC)
    clock = SimClock(a_clock_state(real_wall, speed=500), wall=lambda: datetime.now(UTC))
    await asyncio.wait_for(clock.sleep(5), timeout=2)  # 5 market seconds = 10 ms of wall time
    assert clock.now() >= OPEN + timedelta(seconds=5)


async def test_sim_clock_stops_at_the_run_until_barrier_and_wakes_sleepers_when_it_moves() -> None:
    wall = ManualWall()
    state = a_clock_state(wall, speed=100).model_copy(update={"run_until": OPEN + timedelta(minutes=5)})
    clock = SimClock(state, wall=wall)
    wall.advance(3600)
    assert clock.now() == OPEN + timedelta(minutes=5)
    sleeper = asyncio.create_task(clock.sleep_until(OPEN + timedelta(minutes=6)))
    for _ in range(10):
        await asyncio.sleep(0)
    assert not sleeper.done()
    clock.update(a_clock_state(wall, OPEN + timedelta(minutes=5), speed=100))  # the barrier is lifted
    wall.advance(0.6)
    await asyncio.wait_for(sleeper, timeout=1)
    assert clock.now() == OPEN + timedelta(minutes=6)
