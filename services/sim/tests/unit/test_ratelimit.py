from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sarathi.sim.ratelimit import Category, RateLimiter, RateLimitTime
from sarathi.sim.runtime import SimParts, SimRuntime, build_runtime
from sarathi.sim.settings import SimSettings
from sarathi.sim.testing.fakes import FakeMonotonic
from sarathi.sim.wiring import real_broker, real_market


def test_ten_orders_a_second_are_admitted_and_the_eleventh_is_refused() -> None:
    wall = FakeMonotonic(100.0)
    limiter = RateLimiter(monotonic=wall)
    assert all(limiter.admit(Category.ORDERS) for _ in range(10))
    assert not limiter.admit(Category.ORDERS)
    wall.now += 1.0
    assert limiter.admit(Category.ORDERS)


def test_the_per_minute_order_cap_holds_across_seconds() -> None:
    wall = FakeMonotonic(100.0)
    limiter = RateLimiter(monotonic=wall)
    admitted = 0
    for _ in range(30):
        admitted += sum(limiter.admit(Category.ORDERS) for _ in range(10))
        wall.now += 1.0
    assert admitted == 250


def test_a_refused_request_does_not_use_up_the_allowance() -> None:
    wall = FakeMonotonic(100.0)
    limiter = RateLimiter(monotonic=wall)
    assert limiter.admit(Category.QUOTE)
    assert not limiter.admit(Category.QUOTE)
    wall.now += 1.0
    assert limiter.admit(Category.QUOTE)


def test_the_same_option_chain_once_per_three_seconds_but_others_freely() -> None:
    wall = FakeMonotonic(100.0)
    limiter = RateLimiter(monotonic=wall)
    assert limiter.admit_option_chain("13", "2026-09-15")
    assert limiter.admit_option_chain("25", "2026-09-29")
    assert not limiter.admit_option_chain("13", "2026-09-15")
    wall.now += 3.0
    assert limiter.admit_option_chain("13", "2026-09-15")


class ManualWall:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value


def a_runtime_at_200x(time: RateLimitTime) -> tuple[SimRuntime, ManualWall]:
    wall = ManualWall()
    settings = SimSettings(
        sim_publish_clock=False, sim_speed=Decimal(200), sim_strikes_around_atm=2, sim_rate_limit_time=time
    )
    parts = SimParts(market=real_market, broker=real_broker, wall=wall, monotonic=lambda: 0.0)
    return build_runtime(settings, parts), wall


def test_by_default_limits_count_market_seconds_so_a_fast_day_meets_them_as_a_real_one() -> None:
    runtime, wall = a_runtime_at_200x(RateLimitTime.MARKET)
    assert runtime.limiter.admit_option_chain("13", "2026-11-25")
    wall.value += timedelta(seconds=0.014)  # 2.8 market seconds
    assert not runtime.limiter.admit_option_chain("13", "2026-11-25")
    wall.value += timedelta(seconds=0.002)  # 3.2
    assert runtime.limiter.admit_option_chain("13", "2026-11-25")


def test_limits_can_count_wall_seconds_as_the_real_broker_does() -> None:
    runtime, wall = a_runtime_at_200x(RateLimitTime.WALL)  # the wall monotonic stands still here
    assert runtime.limiter.admit_option_chain("13", "2026-11-25")
    wall.value += timedelta(seconds=60)  # 200 market minutes, no wall second
    assert not runtime.limiter.admit_option_chain("13", "2026-11-25")
