"""The pyramiding book: entries count from submission, events consume them, flat ends the campaign."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sarathi.common.clock import IST
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.execution.adapters.book_store import dump, load
from sarathi.execution.domain.book import HeldPosition, PendingEntry, PositionBook

NOW = datetime(2026, 9, 15, 10, 20, tzinfo=IST)
NIFTY = Underlying.NIFTY


def an_entry(command_id: str, security_id: str, bar: datetime = NOW) -> PendingEntry:
    return PendingEntry(command_id, security_id, NIFTY, OptionType.CALL, bar, 65, Decimal("100"), NOW)


def a_position(security_id: str, quantity: int = 65) -> HeldPosition:
    return HeldPosition(security_id, "NSE_FNO", NIFTY, OptionType.CALL, quantity, Decimal("100"))


def test_a_submitted_entry_counts_once_even_after_its_fill() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("111"))
    assert book.campaign(NIFTY).entries == 1
    assert not book.pending
    assert book.campaign(NIFTY).option_type is OptionType.CALL


def test_positions_from_elsewhere_count_and_a_pyramid_on_the_same_strike_counts_again() -> None:
    book = PositionBook()
    book.position_opened_or_grew("e1", a_position("111"))
    book.position_opened_or_grew("e2", a_position("111", 130))
    book.position_opened_or_grew("e3", a_position("111", 65))  # partial exit: no new entry
    assert book.campaign(NIFTY).entries == 2


def test_the_same_event_twice_changes_nothing() -> None:
    book = PositionBook()
    book.position_opened_or_grew("e1", a_position("111"))
    book.position_opened_or_grew("e1", a_position("111"))
    assert book.campaign(NIFTY).entries == 1


def test_flat_ends_the_campaign() -> None:
    book = PositionBook()
    book.position_opened_or_grew("e1", a_position("111"))
    book.position_opened_or_grew("e2", a_position("222"))
    book.position_closed("e3", "111", NIFTY)
    assert book.campaign(NIFTY).entries == 2
    book.position_closed("e4", "222", NIFTY)
    assert book.campaign(NIFTY).entries == 0


def test_an_unfilled_entry_is_forgotten_after_the_ttl() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    assert not book.expire_pending(NOW + timedelta(minutes=4), timedelta(minutes=5))
    assert [e.command_id for e in book.expire_pending(NOW + timedelta(minutes=6), timedelta(minutes=5))] == [
        "c0"
    ]
    assert book.campaign(NIFTY).entries == 0


def test_exposure_counts_positions_and_pending_entries() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("222"))
    assert book.exposure() == Decimal("13000")


def test_the_book_survives_a_snapshot_round_trip() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("222"))
    book.daily_loss_breached(NOW.date())
    again = load(dump(book))
    assert again.campaign(NIFTY) == book.campaign(NIFTY)
    assert again.pending == book.pending
    assert again.positions == book.positions
    assert again.daily_loss_day == NOW.date()
    again.position_opened_or_grew("e1", a_position("222"))  # remembered as seen
    assert again.campaign(NIFTY).entries == 2


def test_a_rejected_entry_frees_its_slot_once_and_a_filled_one_keeps_it() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("111"))
    book.record_entry(an_entry("c1", "222"))
    assert book.campaign(NIFTY).entries == 2
    rejected = book.entry_rejected("c1")
    assert rejected is not None
    assert rejected.command_id == "c1"
    assert book.campaign(NIFTY).entries == 1
    assert book.entry_rejected("c1") is None  # a redelivered rejection frees nothing more
    assert book.entry_rejected("c0") is None  # filled: no longer pending
    assert book.campaign(NIFTY).entries == 1


def test_a_rejected_first_entry_ends_the_campaign() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.entry_rejected("c0")
    assert book.campaign(NIFTY).entries == 0
    assert NIFTY not in book.campaigns
