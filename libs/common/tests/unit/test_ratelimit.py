import asyncio

import pytest

from sarathi.common.ratelimit import SlidingWindows


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_burst_over_the_per_second_cap_queues_instead_of_failing() -> None:
    t = FakeTime()
    limiter = SlidingWindows(((1, 10),), monotonic=t.monotonic, sleep=t.sleep)
    for _ in range(25):
        await limiter.acquire()
    assert t.now - 1000.0 == pytest.approx(2.0)  # calls 11-20 wait 1 s, 21-25 another second


async def test_every_window_is_respected() -> None:
    t = FakeTime()
    limiter = SlidingWindows(((1, 10), (60, 15)), monotonic=t.monotonic, sleep=t.sleep)
    for _ in range(16):
        await limiter.acquire()
    assert t.now - 1000.0 == pytest.approx(60.0)  # the 16th waits for the first to leave the minute


def test_try_acquire_refuses_without_waiting() -> None:
    t = FakeTime()
    limiter = SlidingWindows(((3, 1),), monotonic=t.monotonic)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    t.now += 3
    assert limiter.try_acquire()


async def test_waiters_are_served_in_arrival_order() -> None:
    t = FakeTime()
    limiter = SlidingWindows(((1, 1),), monotonic=t.monotonic, sleep=t.sleep)
    order: list[int] = []

    async def caller(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    await asyncio.gather(*(caller(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]


def test_nonsense_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindows(((0, 5),))


async def test_a_slot_counts_from_when_its_call_completes_not_when_it_started() -> None:
    t = FakeTime()
    limiter = SlidingWindows(((1, 1),), monotonic=t.monotonic, sleep=t.sleep)
    async with limiter.slot():
        t.now += 0.4  # the request takes 0.4 s to reach the broker and answer
    async with limiter.slot():
        admitted_at = t.now
    assert admitted_at == pytest.approx(1001.4)  # one full window after the first call completed
