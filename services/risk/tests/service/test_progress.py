"""The lockstep watermark (`Guardian.progress`): per held contract, since when it is held and the
exchange time through which its ticks are fully processed — an exit a tick caused (or one the loop
or the operator had in flight) acked by JetStream before the mark moves past it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from sarathi.common.bus import subjects
from sarathi.common.bus.memory import InMemoryBroker
from sarathi.common.bus.port import Bus
from sarathi.common.clock import FakeClock
from sarathi.common.domain.instruments import ContractKey, ExchangeSegment
from sarathi.common.domain.trading import ExitReason
from sarathi.risk import service as service_module
from sarathi.risk.adapters.store import MemoryStore
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.domain.trail import ExitDecision
from sarathi.risk.exits import ExitSender
from sarathi.risk.progress import HeldContract

from ..builders import NIFTY_CALL, OPEN, a_tick, position_closed, position_opened
from .support import Rig, risk_running, wait_for

QUANTITY = 80  # ₹20 of premium is ₹1,600
CALL = ContractKey(ExchangeSegment.NSE_FNO, NIFTY_CALL)


class GatedSender(ExitSender):
    """Sends exit commands only once the gate is opened (a slow JetStream ack)."""

    def __init__(self, bus: Bus) -> None:
        super().__init__(bus)
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()

    async def send_command(self, position: TrackedPosition, requested_by: str, now: datetime) -> str:
        self.sending.set()
        await self.gate.wait()
        return await super().send_command(position, requested_by, now)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[GatedSender]]:
    made: list[GatedSender] = []

    def build(bus: Bus) -> GatedSender:
        made.append(GatedSender(bus))
        return made[-1]

    monkeypatch.setattr(service_module, "ExitSender", build)
    yield made
    for sender in made:
        sender.gate.set()  # nothing left waiting when the service stops


async def open_position(rig: Rig, cause: str = "sub-0001", security_id: str = NIFTY_CALL) -> None:
    await rig.event(
        position_opened(cause, when=rig.clock.now(), net=QUANTITY, average="100", security_id=security_id)
    )


async def send_tick(rig: Rig, price: str, exchange_time: datetime, security_id: str = NIFTY_CALL) -> None:
    """Publish a tick stamped `exchange_time` without moving the clock (the loop stays asleep)."""
    tick = a_tick(price, exchange_time, security_id)
    await rig.bus.publish(subjects.tick(tick.segment, tick.security_id), tick)


def through(rig: Rig, contract: ContractKey = CALL) -> datetime | None:
    progress = rig.service.guardian.progress(rig.clock.now())
    return next(h.ticks_through for h in progress.contracts if h.contract == contract)


async def test_held_since_is_the_clock_when_the_position_opened_and_no_tick_is_done_yet() -> None:
    async with risk_running() as rig:
        rig.clock.advance(timedelta(seconds=2))
        await open_position(rig)
        progress = rig.service.guardian.progress(rig.clock.now())
        assert progress.contracts == (
            HeldContract(CALL, held_since=OPEN + timedelta(seconds=2), ticks_through=None),
        )
        assert (progress.now, progress.positions_open, progress.positions_closing) == (rig.clock.now(), 1, 0)


async def test_ticks_through_is_the_latest_exchange_time_and_an_older_tick_never_moves_it_back() -> None:
    async with risk_running(risk_evaluate_on_tick=True) as rig:
        await open_position(rig)
        await send_tick(rig, "101", OPEN + timedelta(seconds=3))
        await rig.bus.settle()
        assert through(rig) == OPEN + timedelta(seconds=3)
        await send_tick(rig, "102", OPEN + timedelta(seconds=1))  # late, out of order
        await rig.bus.settle()
        assert through(rig) == OPEN + timedelta(seconds=3)
        await send_tick(rig, "103", OPEN + timedelta(seconds=4))
        await rig.bus.settle()
        assert through(rig) == OPEN + timedelta(seconds=4)


async def test_the_mark_passes_a_tick_only_once_the_exit_it_caused_is_acked(gated: list[GatedSender]) -> None:
    async with risk_running(risk_evaluate_on_tick=True) as rig:
        (sender,) = gated
        await open_position(rig)
        await send_tick(rig, "120", OPEN + timedelta(seconds=1))  # ₹1,600: armed
        await rig.bus.settle()
        assert through(rig) == OPEN + timedelta(seconds=1)

        await send_tick(rig, "119", OPEN + timedelta(seconds=2))  # ₹1,520 = 95 % of the mark: exit
        await asyncio.wait_for(sender.sending.wait(), 5)
        progress = rig.service.guardian.progress(rig.clock.now())
        assert (progress.positions_open, progress.positions_closing) == (0, 1)
        assert through(rig) == OPEN + timedelta(seconds=1)  # the exit is not on JetStream yet
        assert rig.exits() == []

        sender.gate.set()
        await wait_for(lambda: through(rig) == OPEN + timedelta(seconds=2))
        assert [c.message_id for c in rig.exits()] == ["xTR-sub-0001"]


async def test_a_tick_is_not_counted_while_an_exit_the_operator_sent_awaits_its_ack(
    gated: list[GatedSender],
) -> None:
    async with risk_running() as rig:  # the loop decides; ticks only note prices
        (sender,) = gated
        await open_position(rig)
        await send_tick(rig, "100", OPEN + timedelta(seconds=1))
        await rig.bus.settle()
        decision = ExitDecision(ExitReason.FLATTEN, None, None, "operator flatten")
        flatten = asyncio.create_task(rig.service.guardian.flatten(decision, "ops"))
        await asyncio.wait_for(sender.sending.wait(), 5)

        await send_tick(rig, "99", OPEN + timedelta(seconds=2))
        noted = OPEN + timedelta(seconds=2)
        await wait_for(lambda: (ltp := rig.service.guardian.ltp(CALL)) is not None and ltp.at == noted)
        assert through(rig) == OPEN + timedelta(seconds=1)  # noted, but the exit is still in flight

        sender.gate.set()
        assert await asyncio.wait_for(flatten, 5) == ["sub-0001"]
        await wait_for(lambda: through(rig) == OPEN + timedelta(seconds=2))
        assert len(rig.exits()) == 1


async def test_contracts_are_the_open_and_closing_positions_sorted_and_a_closed_one_is_dropped() -> None:
    async with risk_running(risk_evaluate_on_tick=True) as rig:
        await open_position(rig, "sub-0001", security_id="52176")
        await open_position(rig, "sub-0002", security_id=NIFTY_CALL)
        await send_tick(rig, "100", OPEN + timedelta(seconds=1), security_id="52176")
        await rig.bus.settle()
        listed = rig.service.guardian.progress(rig.clock.now()).contracts
        assert [(h.contract.security_id, h.ticks_through) for h in listed] == [
            (NIFTY_CALL, None),
            ("52176", OPEN + timedelta(seconds=1)),
        ]

        await rig.event(position_closed("sub-0001", when=rig.clock.now(), realized="0", security_id="52176"))
        progress = rig.service.guardian.progress(rig.clock.now())
        assert [h.contract for h in progress.contracts] == [CALL]
        assert (progress.positions_open, progress.positions_closing) == (1, 0)

        rig.clock.advance(timedelta(seconds=3))
        await open_position(rig, "sub-0003", security_id="52176")  # a new holding starts afresh
        again = next(
            h
            for h in rig.service.guardian.progress(rig.clock.now()).contracts
            if h.contract.security_id == "52176"
        )
        assert (again.held_since, again.ticks_through) == (OPEN + timedelta(seconds=3), None)


async def test_a_restart_holds_its_contracts_again_from_the_clock_at_resume() -> None:
    store, broker, clock = MemoryStore(), InMemoryBroker(), FakeClock(OPEN)
    async with risk_running(store=store, broker=broker, clock=clock) as rig:
        await open_position(rig)
        await send_tick(rig, "100", OPEN + timedelta(seconds=1))
        await rig.bus.settle()
        assert through(rig) == OPEN + timedelta(seconds=1)
    clock.advance(timedelta(seconds=3))
    async with risk_running(store=store, broker=broker, clock=clock) as rig:
        progress = rig.service.guardian.progress(clock.now())
        assert progress.contracts == (
            HeldContract(CALL, held_since=OPEN + timedelta(seconds=3), ticks_through=None),
        )
        assert progress.positions_open == 1
