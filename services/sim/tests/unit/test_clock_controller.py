from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.clock import IST
from sarathi.common.messages.sim import SimClockState
from sarathi.sim.clock import ClockSettingError, SimClockController

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)


class ManualWall:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value


def test_market_time_runs_at_the_set_speed_and_pauses_and_resumes() -> None:
    wall = ManualWall()
    controller = SimClockController(OPEN, Decimal(60), wall=wall)
    wall.value += timedelta(seconds=5)
    assert controller.now() == OPEN + timedelta(minutes=5)
    controller.pause()
    wall.value += timedelta(seconds=100)
    assert controller.now() == OPEN + timedelta(minutes=5)
    controller.resume()
    wall.value += timedelta(seconds=1)
    assert controller.now() == OPEN + timedelta(minutes=6)


def test_every_change_is_announced_to_listeners() -> None:
    controller = SimClockController(OPEN, Decimal(1), wall=ManualWall())
    seen: list[SimClockState] = []
    controller.subscribe(seen.append)
    controller.set(OPEN + timedelta(hours=1), Decimal(500))
    controller.pause()
    controller.pause()  # already paused: no new state
    controller.resume()
    assert [(s.speed, s.paused) for s in seen] == [
        (Decimal(500), False),
        (Decimal(500), True),
        (Decimal(500), False),
    ]
    assert seen[0].market_start == OPEN + timedelta(hours=1)


@pytest.mark.parametrize("speed", [Decimal(0), Decimal("0.5"), Decimal(5000)])
def test_speeds_outside_the_supported_range_are_refused(speed: Decimal) -> None:
    with pytest.raises(ClockSettingError, match="speed"):
        SimClockController(OPEN, speed, wall=ManualWall())


def test_run_until_stops_market_time_at_the_barrier_without_a_jump() -> None:
    wall = ManualWall()
    controller = SimClockController(OPEN, Decimal(60), wall=wall)
    wall.value += timedelta(seconds=1)
    state = controller.run_until(OPEN + timedelta(minutes=5))
    assert state.market_start == OPEN + timedelta(minutes=1)  # re-anchored where it stood
    wall.value += timedelta(seconds=10)
    assert controller.now() == OPEN + timedelta(minutes=5)
    controller.run_until(None)
    wall.value += timedelta(seconds=1)
    assert controller.now() == OPEN + timedelta(minutes=6)


def test_a_barrier_in_the_past_is_refused() -> None:
    wall = ManualWall()
    controller = SimClockController(OPEN, Decimal(60), wall=wall)
    wall.value += timedelta(seconds=1)
    with pytest.raises(ClockSettingError, match="before market time"):
        controller.run_until(OPEN)
