"""Fixtures of the socket tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sarathi.sim.testing.harness import SimPool, sim_pool


@pytest.fixture
def sims() -> Iterator[SimPool]:
    """`sims.start(**settings)` serves a fresh toy sim; all are stopped after the test."""
    yield from sim_pool()
