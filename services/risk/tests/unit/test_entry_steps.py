"""Which order events start and end one of our entries, and which contracts still wait for one."""

from __future__ import annotations

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import Leg, Side
from sarathi.risk.domain.entries import EntryStep, PendingEntries, entry_step

from ..builders import LOT, NIFTY_CALL, order_accepted, order_cancelled, order_filled, order_rejected

CALL = ContractKey(ExchangeSegment.NSE_FNO, NIFTY_CALL)
PUT = ContractKey(ExchangeSegment.NSE_FNO, "52180")


def test_an_accepted_buy_entry_is_an_entry_accepted() -> None:
    assert entry_step(order_accepted()) is EntryStep.ACCEPTED


def test_accepted_legs_and_exit_sells_are_not_entries() -> None:
    assert entry_step(order_accepted(leg=Leg.STOP_LOSS, side=Side.SELL)) is None
    assert entry_step(order_accepted(leg=Leg.TARGET, side=Side.SELL)) is None
    assert entry_step(order_accepted(leg=Leg.EXIT, side=Side.SELL)) is None


def test_a_rejected_entry_ends_unfilled() -> None:
    assert entry_step(order_rejected()) is EntryStep.ENDED_UNFILLED


def test_a_cancelled_entry_ends_unfilled_only_when_nothing_filled() -> None:
    assert entry_step(order_cancelled(filled=0)) is EntryStep.ENDED_UNFILLED
    assert entry_step(order_cancelled(filled=LOT)) is EntryStep.ENDED_FILLED


def test_an_entry_ends_filled_with_its_last_fill_not_a_partial_one() -> None:
    assert entry_step(order_filled(cumulative=LOT)) is None
    assert entry_step(order_filled(cumulative=2 * LOT)) is EntryStep.ENDED_FILLED


def test_a_contract_waits_while_any_of_its_accepted_entries_has_not_ended() -> None:
    pending = PendingEntries()
    pending.accepted("sub-0001", CALL)
    pending.accepted("sub-0002", CALL)
    pending.accepted("sub-0003", PUT)

    assert pending.ended("sub-0001") == CALL
    assert pending.waiting(CALL)
    assert pending.ended("sub-0002") == CALL
    assert not pending.waiting(CALL)
    assert pending.waiting(PUT)


def test_ending_an_entry_never_accepted_here_names_no_contract() -> None:
    assert PendingEntries().ended("sub-0009") is None
