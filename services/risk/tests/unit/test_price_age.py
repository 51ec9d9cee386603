"""Staleness is measured from the later of the last tick and the position's opening."""

from __future__ import annotations

from datetime import timedelta

from sarathi.risk.domain.trail import price_age_seconds

from ..builders import OPEN, a_nifty_call, at


def test_a_tick_from_before_the_position_opened_does_not_make_it_stale() -> None:
    # The contract was traded earlier in the day; its last tick is 40 minutes old when a new
    # position in it opens. The new position is not stale: its clock starts at the opening.
    position = a_nifty_call(opened_at=OPEN + timedelta(minutes=40))
    old_tick = at("100", OPEN)
    assert price_age_seconds(position, old_tick, OPEN + timedelta(minutes=40, seconds=3)) == 3


def test_a_fresh_tick_after_opening_measures_from_the_tick() -> None:
    position = a_nifty_call(opened_at=OPEN)
    assert (
        price_age_seconds(position, at("100", OPEN + timedelta(seconds=10)), OPEN + timedelta(seconds=25))
        == 15
    )


def test_no_tick_at_all_ages_from_the_opening() -> None:
    position = a_nifty_call(opened_at=OPEN)
    assert price_age_seconds(position, None, OPEN + timedelta(seconds=7)) == 7
