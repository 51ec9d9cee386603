"""Builders shared by the market-model tests: one calendar, one universe, seeded models."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.sim.instruments import Universe
from sarathi.sim.market.model import MarketModel
from sarathi.sim.universe_builder import build_universe

TRADING_DAY = date(2026, 9, 16)  # a Wednesday; NIFTY's next expiry is Tuesday 22 Sep


def at(hour: int, minute: int, second: int = 0, day: date = TRADING_DAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=IST)


@pytest.fixture(scope="session")
def calendar() -> MarketCalendar:
    return MarketCalendar()


@pytest.fixture(scope="session")
def universe(calendar: MarketCalendar) -> Universe:
    return build_universe(TRADING_DAY, calendar)


@pytest.fixture
def model(universe: Universe, calendar: MarketCalendar) -> MarketModel:
    return MarketModel(universe, calendar, seed=42, anchor_day=TRADING_DAY)
