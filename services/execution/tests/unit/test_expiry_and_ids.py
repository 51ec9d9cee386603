"""Expiries come from the data; expiry-day roll; deterministic command ids that fit Dhan."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import Underlying
from sarathi.execution.domain.expiry import ExpiryDayPolicy, choose_expiry
from sarathi.execution.domain.ids import entry_command_id
from sarathi.execution.domain.outcome import Allowed, Refused

EXPIRIES = [date(2026, 9, 15), date(2026, 9, 22), date(2026, 9, 29)]
CUTOFF = time(13, 0)


def at(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=IST)


def test_the_nearest_listed_expiry_is_chosen_whatever_its_weekday() -> None:
    odd = [date(2026, 9, 17), date(2026, 9, 24)]  # Thursdays, e.g. moved by circular
    assert choose_expiry(Underlying.NIFTY, odd, at(10), ExpiryDayPolicy.ROLL_AFTER_CUTOFF, CUTOFF) == Allowed(
        odd[0]
    )


def test_on_expiry_day_the_contract_rolls_after_the_cutoff() -> None:
    policy = ExpiryDayPolicy.ROLL_AFTER_CUTOFF
    assert choose_expiry(Underlying.NIFTY, EXPIRIES, at(12, 59), policy, CUTOFF) == Allowed(EXPIRIES[0])
    assert choose_expiry(Underlying.NIFTY, EXPIRIES, at(13, 0), policy, CUTOFF) == Allowed(EXPIRIES[1])


def test_other_expiry_day_policies() -> None:
    assert choose_expiry(
        Underlying.NIFTY, EXPIRIES, at(9, 30), ExpiryDayPolicy.ALWAYS_NEXT, CUTOFF
    ) == Allowed(EXPIRIES[1])
    assert choose_expiry(Underlying.NIFTY, EXPIRIES, at(15), ExpiryDayPolicy.SAME_DAY, CUTOFF) == Allowed(
        EXPIRIES[0]
    )


def test_past_expiries_are_ignored_and_none_ahead_is_refused() -> None:
    assert choose_expiry(
        Underlying.NIFTY, EXPIRIES, at(10, day=16), ExpiryDayPolicy.SAME_DAY, CUTOFF
    ) == Allowed(EXPIRIES[1])
    assert isinstance(choose_expiry(Underlying.NIFTY, [], at(10), ExpiryDayPolicy.SAME_DAY, CUTOFF), Refused)
    only_today = [EXPIRIES[0]]
    assert isinstance(
        choose_expiry(Underlying.NIFTY, only_today, at(14), ExpiryDayPolicy.ROLL_AFTER_CUTOFF, CUTOFF),
        Refused,
    )


def test_an_entry_command_id_is_the_short_signal_id_and_its_pyramid_level() -> None:
    assert entry_command_id(Underlying.NIFTY, "st_rsi_adx", at(10, 20), 0) == "N2609151020KNZ2T-E0"
    assert entry_command_id(Underlying.SENSEX, "st_rsi_adx", at(10, 20), 2) == "S26091510205YTZT-E2"


def test_command_ids_are_deterministic_distinct_per_level_and_fit_dhan() -> None:
    ids = [entry_command_id(Underlying.SENSEX, "st_rsi_adx", at(10, 20), level) for level in range(3)]
    assert ids == [entry_command_id(Underlying.SENSEX, "st_rsi_adx", at(10, 20), level) for level in range(3)]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,25}", i) for i in ids)
    assert ids[2].endswith("-E2")
    assert entry_command_id(Underlying.NIFTY, "st_rsi_adx", at(10, 25), 0) != entry_command_id(
        Underlying.NIFTY, "st_rsi_adx", at(10, 20), 0
    )


def test_a_level_beyond_two_pyramids_or_an_off_minute_bar_has_no_id() -> None:
    with pytest.raises(ValueError, match="pyramid level"):
        entry_command_id(Underlying.NIFTY, "st_rsi_adx", at(10, 20), 3)
    with pytest.raises(ValueError, match="whole minute"):
        entry_command_id(Underlying.NIFTY, "st_rsi_adx", at(10, 20).replace(second=5), 0)
