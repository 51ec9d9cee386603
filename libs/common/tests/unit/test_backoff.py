"""The one backoff: capped exponential growth, jitter within [half, full] of the ceiling, budgets."""

from __future__ import annotations

import random

import pytest

from sarathi.common.backoff import Backoff


def test_backoff_grows_exponentially_to_its_cap_with_jitter_below_the_base() -> None:
    policy = Backoff(initial_seconds=0.1, cap_seconds=2.0, multiplier=2.0, jitter=0.5)
    rng = random.Random(1)  # noqa: S311 - reproducible jitter, not security
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.6), (6, 2.0), (40, 2.0)]:
        delay = policy.delay(attempt, rng.random())
        assert base * 0.5 <= delay <= base
    assert policy.delay(1, rng.random(), floor=60.0) == 60.0


def test_backoff_stops_at_its_attempt_cap_or_its_time_cap() -> None:
    assert Backoff(max_attempts=3).exhausted(3, 0.0)
    assert not Backoff(max_attempts=3).exhausted(2, 1e6)
    assert Backoff(max_elapsed_seconds=60).exhausted(1, 60.0)
    assert not Backoff().exhausted(10_000, 1e9)
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(jitter=2)


def test_the_jitter_keeps_a_delay_between_half_its_ceiling_and_its_ceiling() -> None:
    backoff = Backoff(initial_seconds=1.0, cap_seconds=8.0)

    assert backoff.delay(3, 0.0) == 4.0
    assert backoff.delay(3, 0.5) == 3.0
    assert 2.0 < backoff.delay(3, 0.999999) < 2.001
    assert backoff.delay(10, 0.0) == 8.0
    assert Backoff(initial_seconds=1.0, cap_seconds=30.0, jitter=0.0).delay(5, 0.7) == 16.0


def test_a_placement_budget_of_nine_attempts_allows_eight_retries() -> None:
    budget = Backoff(max_attempts=9, max_elapsed_seconds=60.0)

    assert not budget.exhausted(8, 59.9)
    assert budget.exhausted(9, 0.0)
    assert budget.exhausted(1, 60.0)
