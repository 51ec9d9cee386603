"""The risk service on the in-memory bus and a fake clock: trail, idempotent exits, restart,
daily loss, square-off, stale prices, per-tick mode and feed subscriptions."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sarathi.common.bus.memory import InMemoryBroker
from sarathi.common.bus.streams import TRADING_STATE_KEY
from sarathi.common.clock import FakeClock
from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import ExitReason
from sarathi.common.messages.base import decode_as
from sarathi.common.messages.risk import ControlState
from sarathi.risk.adapters.store import MemoryStore
from sarathi.risk.domain.control import Action
from sarathi.risk.domain.position import Status
from sarathi.risk.domain.trail import ExitDecision

from ..builders import NIFTY_CALL, OPEN, a_tick, position_closed, position_opened
from .support import Rig, risk_running

QUANTITY = 80  # ₹20 of premium is ₹1,600


async def open_position(rig: Rig, cause: str = "sub-0001", security_id: str = NIFTY_CALL) -> None:
    event = position_opened(cause, when=rig.clock.now(), net=QUANTITY, average="100", security_id=security_id)
    await rig.event(event)
    await rig.tick("100", security_id)


async def test_a_trailing_exit_is_one_command_with_a_deterministic_id_and_its_events() -> None:
    async with risk_running() as rig:
        await open_position(rig)
        assert rig.feed.held == {NIFTY_CALL}
        await rig.advance(10, price="120")  # ₹1,600: armed at the check of 09:15:05
        await rig.advance(5, price="119")  # ₹1,520 = 1,600 × 0.95: exit at 09:15:15
        (command,) = rig.exits()
        assert command.message_id == "xTR-sub-0001"
        assert (command.reason, command.security_id, command.requested_by) == (
            ExitReason.TRAILING,
            NIFTY_CALL,
            "risk",
        )
        assert command.correlation_id == "trade-sub-0001"
        (armed,) = rig.risk_events("TrailingArmed")
        (triggered,) = rig.risk_events("ExitTriggered")
        assert armed.hwm == Decimal(1600)  # type: ignore[attr-defined]
        assert (triggered.pnl, triggered.hwm) == (Decimal(1520), Decimal(1600))  # type: ignore[attr-defined]

        await rig.advance(60, price="90")  # still held: re-sent under the same id, never a second exit
        assert [c.message_id for c in rig.exits()] == ["xTR-sub-0001"]
        assert rig.service.metrics.exit_resends._value.get() >= 1  # type: ignore[attr-defined]

        await rig.event(
            position_closed("xTR-sub-0001", when=rig.clock.now(), realized="-800", reason=ExitReason.TRAILING)
        )
        tracker = rig.store.rows["sub-0001"]
        assert (tracker.status, tracker.exit_reason, tracker.realized_pnl) == (
            Status.CLOSED, ExitReason.TRAILING, Decimal(-800),
        )  # fmt: skip
        assert rig.feed.held == set()  # unsubscribed once flat


async def test_a_position_that_never_reaches_the_lock_is_never_trailed() -> None:
    async with risk_running() as rig:
        await open_position(rig)
        await rig.advance(20, price="112.45")  # ₹996
        await rig.advance(20, price="100.5")
        assert rig.exits() == []
        assert rig.risk_events("TrailingArmed") == []
        assert not rig.store.rows["sub-0001"].trail_armed


async def test_checks_run_every_5_seconds_of_market_time() -> None:
    async with risk_running() as rig:
        await open_position(rig)
        await rig.advance(3, price="120")
        assert rig.service.loop.rounds == 0
        await rig.advance(2, price="120")
        assert rig.service.loop.rounds == 1
        assert rig.store.rows["sub-0001"].hwm == Decimal(1600)
        await rig.advance(4, price="119")  # the drop is seen at 09:15:10 only
        assert rig.exits() == []
        await rig.advance(1, price="119")
        assert len(rig.exits()) == 1


async def test_in_tick_mode_the_tick_that_crosses_the_trail_sends_the_exit() -> None:
    async with risk_running(risk_evaluate_on_tick=True) as rig:
        await open_position(rig)
        await rig.tick("120")
        await rig.tick("121")  # hwm ₹1,680
        await rig.tick("119.8")  # ₹1,584 > 1,596? no: 1,680 × 0.95 = 1,596 → exit
        assert [c.message_id for c in rig.exits()] == ["xTR-sub-0001"]
        assert rig.service.loop.rounds == 0  # no 5-second check was needed


async def test_a_restart_resumes_the_high_water_mark_and_the_armed_trail() -> None:
    store, broker, clock = MemoryStore(), InMemoryBroker(), FakeClock(OPEN)
    async with risk_running(store=store, broker=broker, clock=clock) as rig:
        await open_position(rig)
        await rig.advance(5, price="120")
        assert store.rows["sub-0001"].hwm == Decimal(1600)
    async with risk_running(store=store, broker=broker, clock=clock) as rig:
        position = rig.service.guardian.book.open_positions()[0]
        assert (position.trail_armed, position.hwm) == (True, Decimal(1600))
        assert rig.feed.held == {NIFTY_CALL}
        await rig.advance(5, price="119.40")  # ₹1,552: a forgetful restart would re-arm here
        assert rig.exits() == []
        await rig.advance(5, price="118.85")  # ₹1,508 ≤ ₹1,520
        assert [c.message_id for c in rig.exits()] == ["xTR-sub-0001"]


async def test_a_daily_loss_breach_halts_flattens_and_is_audited() -> None:
    async with risk_running(risk_daily_loss_limit_inr=Decimal(500)) as rig:
        await open_position(rig, "sub-0001")
        await open_position(rig, "sub-0002", security_id="52176")
        await rig.tick("95", "52176")
        await rig.advance(5, price="96")  # (−4 − 5) × 80 = −₹720 gross, worse net
        assert rig.service.control.state is TradingState.HALTED
        entry = await rig.bus.kv_get(TRADING_STATE_KEY)
        assert entry is not None
        state = decode_as(entry.value, ControlState)
        assert (state.state, state.actor) == (TradingState.HALTED, "risk")
        assert {c.reason for c in rig.exits()} == {ExitReason.DAILY_LOSS}
        assert len(rig.exits()) == 2
        (breach,) = rig.risk_events("DailyLossBreached")
        assert breach.total_pnl <= Decimal(-500)  # type: ignore[attr-defined]
        assert [a.action for a in rig.store.audits] == ["initialize", "daily_loss"]
        assert rig.risk_events("TradingStateChanged")


async def test_everything_is_squared_off_at_15_15() -> None:
    clock = FakeClock(OPEN.replace(hour=15, minute=14, second=50))
    async with risk_running(clock=clock) as rig:
        await open_position(rig)
        await rig.advance(5, price="101")
        assert rig.exits() == []
        await rig.advance(5, price="101")
        assert [(c.message_id, c.reason) for c in rig.exits()] == [("xSQ-sub-0001", ExitReason.SQUARE_OFF)]


async def test_a_stale_contract_is_not_decided_on_then_exited_at_market() -> None:
    async with risk_running() as rig:
        await open_position(rig)
        await rig.advance(5, price="120")  # armed at ₹1,600
        await rig.advance(15)  # no ticks: stale after 10 s, and the last price is never re-judged
        assert rig.exits() == []
        await rig.advance(45)
        assert [(c.reason) for c in rig.exits()] == [ExitReason.STALE_PRICE]


async def test_a_position_opened_while_halted_is_exited_at_the_next_check() -> None:
    async with risk_running() as rig:
        await rig.service.control.act(
            Action.KILL, actor="ops", reason="test", remote_address=None, daily_loss_breached=False
        )
        await open_position(rig)
        await rig.advance(5, price="100")
        assert [(c.message_id, c.reason) for c in rig.exits()] == [("xKL-sub-0001", ExitReason.KILL)]


async def test_a_tick_is_handled_while_an_operator_exit_of_its_contract_awaits_its_jetstream_ack() -> None:
    # Live trading: a slow JetStream acknowledgement of one exit must not hold the contract's
    # tick subscription (it once waited for it, for a lockstep driver's sake).
    async with risk_running() as rig:
        await open_position(rig)
        guardian = rig.service.guardian
        unacked = asyncio.Event()

        async def never_acked(*_: object) -> None:
            await unacked.wait()

        guardian._sender.send_command = never_acked  # type: ignore[method-assign]
        decision = ExitDecision(ExitReason.FLATTEN, None, None, "operator flatten")
        exiting = asyncio.create_task(guardian.flatten(decision, "operator"))
        await asyncio.sleep(0)
        tick = a_tick("101", rig.clock.now())
        async with asyncio.timeout(1):
            await guardian.on_tick(tick)
        latest = guardian.ltp(ContractKey(tick.segment, NIFTY_CALL))
        assert latest is not None
        assert latest.price == Decimal("101")
        unacked.set()
        await exiting
