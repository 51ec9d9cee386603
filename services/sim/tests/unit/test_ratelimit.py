from sarathi.sim.ratelimit import Category, RateLimiter


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ten_orders_a_second_are_admitted_and_the_eleventh_is_refused() -> None:
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    assert all(limiter.admit(Category.ORDERS) for _ in range(10))
    assert not limiter.admit(Category.ORDERS)
    wall.now += 1.0
    assert limiter.admit(Category.ORDERS)


def test_the_per_minute_order_cap_holds_across_seconds() -> None:
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    admitted = 0
    for _ in range(30):
        admitted += sum(limiter.admit(Category.ORDERS) for _ in range(10))
        wall.now += 1.0
    assert admitted == 250


def test_a_refused_request_does_not_use_up_the_allowance() -> None:
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    assert limiter.admit(Category.QUOTE)
    assert not limiter.admit(Category.QUOTE)
    wall.now += 1.0
    assert limiter.admit(Category.QUOTE)


def test_the_same_option_chain_once_per_three_seconds_but_others_freely() -> None:
    wall = FakeMonotonic()
    limiter = RateLimiter(monotonic=wall)
    assert limiter.admit_option_chain("13", "2026-09-15")
    assert limiter.admit_option_chain("25", "2026-09-29")
    assert not limiter.admit_option_chain("13", "2026-09-15")
    wall.now += 3.0
    assert limiter.admit_option_chain("13", "2026-09-15")
