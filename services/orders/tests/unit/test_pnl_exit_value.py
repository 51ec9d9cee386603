"""The P&L exit's profit value: a ceiling the day cannot reach, raised as the day's profit grows."""

from __future__ import annotations

from decimal import Decimal

from sarathi.orders.domain.pnl_exit import needs_rearming, profit_value

FLOOR = Decimal(10_000_000)
TWICE = Decimal(2)


def test_a_flat_or_losing_day_is_armed_at_the_floor_never_at_zero() -> None:
    assert profit_value(Decimal(0), floor_inr=FLOOR, headroom=TWICE) == FLOOR
    assert profit_value(Decimal("-4200.50"), floor_inr=FLOOR, headroom=TWICE) == FLOOR


def test_a_day_in_profit_beyond_half_the_floor_is_armed_above_its_profit_in_whole_rupees() -> None:
    value = profit_value(Decimal("6000000.30"), floor_inr=FLOOR, headroom=TWICE)
    assert value == Decimal(12_000_001)
    assert value > Decimal("6000000.30")


def test_rearming_is_needed_only_once_the_profit_nears_the_armed_value() -> None:
    assert not needs_rearming(Decimal(4_999_999), FLOOR, headroom=TWICE)
    assert needs_rearming(Decimal(5_000_001), FLOOR, headroom=TWICE)
    raised = profit_value(Decimal(5_000_001), floor_inr=FLOOR, headroom=TWICE)
    assert not needs_rearming(Decimal(5_000_001), raised, headroom=TWICE)
