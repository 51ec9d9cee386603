"""Risk holds a contract's ticks from the broker's acceptance of our entry, before any fill, and
lets them go when the entry ends unfilled and neither a position nor another entry holds them."""

from __future__ import annotations

from datetime import timedelta

from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import ExitReason, Leg, Side

from ..builders import (
    LOT,
    NIFTY_CALL,
    order_accepted,
    order_cancelled,
    order_filled,
    order_rejected,
    position_closed,
    position_opened,
)
from .support import Rig, risk_running

CALL = ContractKey(ExchangeSegment.NSE_FNO, NIFTY_CALL)


def held(rig: Rig) -> bool:
    """Held at the feed and by risk's own tick subscription."""
    return NIFTY_CALL in rig.feed.held and CALL in rig.service.subscriptions.held


def released(rig: Rig) -> bool:
    return NIFTY_CALL not in rig.feed.held and CALL not in rig.service.subscriptions.held


async def test_an_accepted_entry_holds_its_contract_before_any_fill() -> None:
    async with risk_running() as rig:
        await rig.event(order_accepted(when=rig.clock.now()))

        assert held(rig)
        assert rig.service.guardian.book.all() == []
        assert rig.service.metrics.entry_holds.labels("held")._value.get() == 1  # type: ignore[attr-defined]


async def test_a_rejected_entry_releases_its_contract() -> None:
    async with risk_running() as rig:
        await rig.event(order_accepted(when=rig.clock.now()))
        await rig.event(order_rejected(when=rig.clock.now()))

        assert released(rig)
        assert rig.feed.requests == ["subscribe", "unsubscribe"]


async def test_an_entry_cancelled_before_any_fill_releases_its_contract() -> None:
    async with risk_running() as rig:
        await rig.event(order_accepted(when=rig.clock.now()))
        await rig.event(order_cancelled(when=rig.clock.now(), filled=0))

        assert released(rig)


async def test_a_filled_entry_hands_its_hold_to_the_position_which_releases_it_when_closed() -> None:
    async with risk_running() as rig:
        now = rig.clock.now()
        await rig.event(order_accepted(when=now))
        await rig.event(order_filled(when=now, cumulative=2 * LOT))
        assert held(rig)
        await rig.event(position_opened("sub-0001", when=now, net=2 * LOT))
        assert held(rig)
        assert rig.feed.requests == ["subscribe"]  # the position's hold is the same one

        await rig.event(position_closed("xTR-sub-0001", when=now, realized="0", reason=ExitReason.TRAILING))
        assert released(rig)


async def test_legs_and_exit_sells_hold_nothing() -> None:
    async with risk_running() as rig:
        await rig.event(order_accepted("sub-0001", when=rig.clock.now(), leg=Leg.STOP_LOSS, side=Side.SELL))
        await rig.event(order_accepted("xTR-sub-0001", when=rig.clock.now(), leg=Leg.EXIT, side=Side.SELL))

        assert rig.feed.requests == []


async def test_a_rejected_pyramid_leaves_the_open_position_held() -> None:
    async with risk_running() as rig:
        now = rig.clock.now()
        await rig.event(position_opened("sub-0001", when=now, net=2 * LOT))
        await rig.event(order_accepted("sub-0002", when=now))
        await rig.event(order_rejected("sub-0002", when=now))

        assert held(rig)


async def test_a_position_closing_while_another_entry_waits_keeps_the_contract_held_until_that_ends() -> None:
    async with risk_running() as rig:
        now = rig.clock.now()
        await rig.event(position_opened("sub-0001", when=now, net=2 * LOT))
        await rig.event(order_accepted("sub-0002", when=now))
        await rig.event(position_closed("xTR-sub-0001", when=now, realized="0", reason=ExitReason.TRAILING))
        assert held(rig)

        await rig.event(order_rejected("sub-0002", when=now))
        assert released(rig)


async def test_a_filled_entry_whose_position_already_came_and_went_is_released_at_its_fill() -> None:
    async with risk_running() as rig:  # the order events lag behind the position events
        now = rig.clock.now()
        await rig.event(order_accepted(when=now))
        await rig.event(position_opened("sub-0001", when=now, net=2 * LOT))
        await rig.event(position_closed("xTR-sub-0001", when=now, realized="0", reason=ExitReason.TRAILING))
        assert held(rig)  # the close waits for the entry the order events still call pending

        await rig.event(order_filled(when=now, cumulative=2 * LOT))
        assert released(rig)


async def test_an_acceptance_after_its_position_closed_holds_nothing() -> None:
    async with risk_running() as rig:
        now = rig.clock.now()
        await rig.event(position_opened("sub-0001", when=now, net=2 * LOT))
        await rig.event(position_closed("xTR-sub-0001", when=now, realized="0", reason=ExitReason.TRAILING))
        await rig.event(order_accepted(when=now))

        assert released(rig)
        assert rig.feed.requests == ["subscribe", "unsubscribe"]


async def test_a_rejection_of_an_entry_accepted_before_a_restart_still_releases_it_at_the_feed() -> None:
    async with risk_running() as rig:  # nothing pending here: risk restarted since the acceptance
        rig.feed.held.add(NIFTY_CALL)
        await rig.event(order_rejected(when=rig.clock.now()))

        assert rig.feed.requests == ["unsubscribe"]
        assert released(rig)


async def test_a_rejection_before_the_broker_had_the_entry_asks_the_feed_nothing() -> None:
    async with risk_running() as rig:
        await rig.event(order_rejected(when=rig.clock.now(), at_broker=False))

        assert rig.feed.requests == []


async def test_an_acceptance_of_an_earlier_day_is_ignored() -> None:
    async with risk_running() as rig:  # a consumer created late reads the stream from its start
        await rig.event(order_accepted(when=rig.clock.now() - timedelta(days=1)))

        assert rig.feed.requests == []
