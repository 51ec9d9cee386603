"""The execution service on the in-memory bus with a fake clock: one signal → one submit command,
gates refuse with reasons, redelivery never places twice, pyramiding stops at three entries, and
no entry loses more at its stop than risk's loss budget has left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sarathi.common.bus import streams, subjects
from sarathi.common.bus.memory import InMemoryBus
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY, RECONCILIATION_KEY, TRADING_STATE_KEY
from sarathi.common.clock import IST, FakeClock
from sarathi.common.db.models.execution import DecisionOutcome
from sarathi.common.domain.calendar import MarketCalendar
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import ReconciliationRecord, ReconciliationStatus, TradingState
from sarathi.common.domain.instruments import Exchange, Underlying
from sarathi.common.domain.money import Rounding, round_to_tick
from sarathi.common.domain.trading import Direction
from sarathi.common.messages.base import decode
from sarathi.common.messages.orders import PositionOpened, SubmitEntry
from sarathi.common.messages.risk import ControlState
from sarathi.execution.adapters.book_store import BookStore
from sarathi.execution.adapters.chain_cache import ChainCache
from sarathi.execution.adapters.control import ControlWatch
from sarathi.execution.adapters.prices import FeedPrices
from sarathi.execution.api import build_router
from sarathi.execution.app import rules_of
from sarathi.execution.decide import EntryDecider
from sarathi.execution.metrics import ExecutionMetrics
from sarathi.execution.service import ExecutionService
from sarathi.execution.settings import ExecutionSettings
from sarathi.execution.testing import (
    FakeChainSource,
    MemoryDecisionStore,
    MemoryDerivatives,
    SnapshotServer,
    a_chain_body,
    a_loss_budget,
    a_signal,
    an_index_tick,
)

START = datetime(2026, 9, 15, 10, 20, tzinfo=IST)
EXPIRY = date(2026, 9, 22)
NIFTY = Underlying.NIFTY
LEVEL = Decimal("24012.45")


@dataclass
class Harness:
    bus: InMemoryBus
    clock: FakeClock
    service: ExecutionService
    decisions: MemoryDecisionStore
    snapshots: SnapshotServer
    chains: FakeChainSource
    derivatives: MemoryDerivatives
    net_pnl: Decimal | None = Decimal(0)  # today's net P&L risk reports; None: risk writes nothing

    async def report_budget(self) -> None:
        """What risk's check at the current market time writes (it does so every 5 s)."""
        if self.net_pnl is not None:
            budget = a_loss_budget(self.clock.now(), net_pnl=self.net_pnl)
            await self.bus.kv_put(DAILY_LOSS_BUDGET_KEY, budget.encode())
            await self.bus.settle()

    async def set_state(self, state: TradingState) -> None:
        value = ControlState(
            message_id=f"cs-{state}", correlation_id="risk", event_time=self.clock.now(), state=state,
            reason="test", actor="tester", updated_at=self.clock.now(),
        )  # fmt: skip
        await self.bus.kv_put(TRADING_STATE_KEY, value.encode())
        await self.bus.settle()

    async def signal(self, bar: datetime, direction: Direction = Direction.BULLISH) -> None:
        self.clock.set(max(self.clock.now(), bar + timedelta(seconds=1)))
        await self.report_budget()
        self.snapshots.put(an_index_tick(NIFTY, LEVEL, self.clock.now()))
        await self.bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, bar, direction))
        await self.bus.settle()

    def commands(self) -> list[SubmitEntry]:
        found = [decode(m.data) for m in self.bus.broker.messages(streams.ORDER_CMD.name)]
        return [m for m in found if isinstance(m, SubmitEntry)]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with running(ExecutionSettings()) as h:
        yield h


@asynccontextmanager
async def running(
    settings: ExecutionSettings, net_pnl: Decimal | None = Decimal(0)
) -> AsyncIterator[Harness]:
    clock = FakeClock(START)
    bus = InMemoryBus(clock=clock)
    await bus.ensure_streams()
    body = a_chain_body(NIFTY, EXPIRY, LEVEL)
    source = FakeChainSource({(NIFTY, EXPIRY): body})
    derivatives = MemoryDerivatives.of_chain(NIFTY, EXPIRY, body, lot_size=65)
    metrics = ExecutionMetrics()
    control = ControlWatch(bus, require_reconciliation=True)
    record = ReconciliationRecord(
        status=ReconciliationStatus.DONE, reconciled=True, reason="ok", at=START, last_success_at=START
    )
    await bus.kv_put(RECONCILIATION_KEY, record.encode())
    snapshots = SnapshotServer()
    await snapshots.serve(bus)
    chains = ChainCache(source, clock, max_age_seconds=15, on_lookup=metrics.chain_lookup)
    decider = EntryDecider(
        rules_of(settings), calendar=MarketCalendar(), chains=chains, derivatives=derivatives,
        latest_ticks=FeedPrices(bus, clock, timeout_seconds=1).latest, trading_state=control.state,
        loss_budget=control.loss_budget,
    )  # fmt: skip
    decisions = MemoryDecisionStore()
    service = ExecutionService(
        bus=bus, clock=clock, decider=decider, derivatives=derivatives, decisions=decisions,
        books=BookStore(bus), metrics=metrics, pending_ttl_seconds=300,
    )  # fmt: skip
    await control.start()
    await service.start()
    h = Harness(bus, clock, service, decisions, snapshots, source, derivatives, net_pnl)
    await h.set_state(TradingState.ACTIVE)
    await h.report_budget()
    yield h
    await service.stop()
    await control.stop()
    await bus.close()


async def test_a_bullish_signal_yields_one_submit_for_a_listed_liquid_call(harness: Harness) -> None:
    await harness.signal(START)
    (command,) = harness.commands()
    listed = await harness.derivatives.contract(NIFTY, EXPIRY, command.contract.security_id)
    assert listed is not None
    assert command.contract.option_type.value == "CE"
    assert (command.contract.strike, command.contract.expiry) == (listed.contract.strike, EXPIRY)
    assert command.quantity == 65
    assert command.pyramid_level == 0
    assert command.message_id.endswith("-E0")
    assert command.correlation_id == a_signal(NIFTY, START).signal_id
    (decision,) = harness.decisions.records
    assert (decision.outcome, decision.command_id) == (DecisionOutcome.PLACED, command.message_id)


async def test_a_bearish_signal_buys_a_put(harness: Harness) -> None:
    await harness.signal(START, Direction.BEARISH)
    assert harness.commands()[0].contract.option_type.value == "PE"


async def test_a_redelivered_signal_is_not_decided_twice(harness: Harness) -> None:
    await harness.signal(START)
    await harness.service.on_signal(a_signal(NIFTY, START))  # as a redelivery would
    await harness.bus.settle()
    assert len(harness.commands()) == 1
    assert len(harness.decisions.records) == 1


async def test_paused_refuses_entries_and_says_why(harness: Harness) -> None:
    await harness.set_state(TradingState.PAUSED)
    await harness.signal(START)
    assert harness.commands() == []
    (decision,) = harness.decisions.records
    assert (decision.outcome, decision.gate) == (DecisionOutcome.REFUSED, "trading_state")
    assert "PAUSED" in decision.reason
    assert harness.chains.fetches == 0  # refused before any chain fetch


async def test_no_reconciliation_means_no_entries(harness: Harness) -> None:
    await harness.bus.kv_put(RECONCILIATION_KEY, b"")
    await harness.bus.settle()
    await harness.signal(START)
    assert harness.decisions.records[0].gate == "trading_state"
    assert "RECONCILING" in harness.decisions.records[0].reason


async def test_a_stale_underlying_refuses(harness: Harness) -> None:
    harness.clock.set(START + timedelta(seconds=1))
    await harness.bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, START))
    await harness.bus.settle()
    assert harness.decisions.records[0].gate == "stale_price"


async def test_pyramids_follow_later_bars_and_stop_at_three_entries(harness: Harness) -> None:
    for n in range(4):
        await harness.signal(START + timedelta(minutes=5 * n))
        if n < 3:
            command = harness.commands()[-1]
            event = PositionOpened(
                message_id=f"po-{n}", correlation_id=command.correlation_id, event_time=harness.clock.now(),
                security_id=command.contract.security_id, segment=command.contract.segment, underlying=NIFTY,
                net_quantity=65 * (n + 1), average_price=Decimal("50"), realized_pnl=Decimal("0"),
            )  # fmt: skip
            await harness.bus.publish_durable(subjects.position_event("PositionOpened"), event)
            await harness.bus.settle()
    assert [c.pyramid_level for c in harness.commands()] == [0, 1, 2]
    last = harness.decisions.records[-1]
    assert (last.outcome, last.gate) == (DecisionOutcome.REFUSED, "pyramiding")


async def test_an_opposite_signal_while_long_calls_is_refused(harness: Harness) -> None:
    await harness.signal(START)
    await harness.signal(START + timedelta(minutes=5), Direction.BEARISH)
    assert len(harness.commands()) == 1
    assert "direction" in harness.decisions.records[-1].reason


async def test_a_chain_id_missing_from_the_derivative_table_is_refused(harness: Harness) -> None:
    harness.derivatives.clear()
    harness.derivatives.add_chain(NIFTY, EXPIRY, a_chain_body(NIFTY, EXPIRY, LEVEL + 5000), lot_size=65)
    await harness.signal(START)
    assert harness.commands() == []
    assert harness.decisions.records[0].gate == "refdata"


async def test_the_chain_is_cached_for_its_max_age_in_market_time(harness: Harness) -> None:
    cache = ChainCache(harness.chains, harness.clock, max_age_seconds=15)
    first = await cache.get(NIFTY, EXPIRY)
    harness.clock.advance(15)
    assert await cache.get(NIFTY, EXPIRY) is first
    harness.clock.advance(1)
    assert await cache.get(NIFTY, EXPIRY) is not first
    assert harness.chains.fetches == 2


async def test_decisions_are_served_with_their_reasons(harness: Harness) -> None:
    await harness.signal(START)
    await harness.set_state(TradingState.HALTED)
    await harness.signal(START + timedelta(minutes=5))
    app = FastAPI()
    app.include_router(build_router(lambda: harness.decisions, page_max=10))
    with TestClient(app) as client:
        body = client.get("/decisions", params={"underlying": "NIFTY"}).json()
        assert client.get("/decisions", params={"underlying": "NOPE"}).status_code == 422
    latest, first = body["decisions"]
    assert (latest["outcome"], latest["gate"]) == ("REFUSED", "trading_state")
    assert "HALTED" in latest["reason"]
    assert (first["outcome"], first["command_id"]) == ("PLACED", harness.commands()[0].message_id)


# --- the loss bound ---------------------------------------------------------------------------


def loss_if_stopped_out(command: SubmitEntry, stop_fill: Decimal) -> Decimal:
    """Premium lost plus charges if the stop leg fills at `stop_fill`: the one charges function."""
    trip = ChargesCalculator().round_trip(
        command.entry_price, stop_fill, command.quantity, Exchange.NSE, START.date()
    )
    return -trip.net_pnl


async def test_two_lots_that_would_lose_more_than_the_budget_left_at_the_stop_are_cut_to_one() -> None:
    async with running(ExecutionSettings(lots=2, risk_per_trade_inr=Decimal(5000))) as h:
        h.net_pnl = Decimal("-3000")  # ₹2,000 left of the ₹5,000 limit
        await h.signal(START)
        (command,) = h.commands()
        assert command.lots == 1, "2 lots lose ~₹3,200 at the stop, more than the ₹2,000 left"
        # the stop less the default 2 % slippage allowance, rounded down to the tick
        stop_fill = round_to_tick(command.stop_loss_price * Decimal("0.98"), rounding=Rounding.DOWN)
        assert loss_if_stopped_out(command, command.stop_loss_price) <= Decimal(2000)
        assert loss_if_stopped_out(command, stop_fill) <= Decimal(2000)
        (decision,) = h.decisions.records
        assert decision.details["loss_cap_source"] == "daily loss budget left"
        assert decision.details["assumed_stop_fill"] == str(stop_fill)
        assert "2 lot(s) wanted" in decision.reason


async def test_an_entry_whose_first_lot_does_not_fit_the_budget_left_is_refused_and_served_why() -> None:
    async with running(ExecutionSettings()) as h:
        h.net_pnl = Decimal("-4000")
        await h.signal(START)
        assert h.commands() == []
        app = FastAPI()
        app.include_router(build_router(lambda: h.decisions, page_max=10))
        with TestClient(app) as client:
            (served,) = client.get("/decisions", params={"underlying": "NIFTY"}).json()["decisions"]
        assert (served["outcome"], served["gate"]) == ("REFUSED", "loss_budget")
        assert "more than the ₹1000.00 of daily loss budget left" in served["reason"]


async def test_no_loss_budget_from_risk_means_no_entries() -> None:
    async with running(ExecutionSettings(), net_pnl=None) as h:
        await h.signal(START)
        assert h.commands() == []
        assert h.decisions.records[0].gate == "loss_budget"
        assert "is risk running" in h.decisions.records[0].reason
        assert h.chains.fetches == 0  # refused before any chain fetch


async def test_a_pyramid_gets_only_what_the_open_entry_could_not_lose_at_its_stop() -> None:
    """The issue's day: an entry and its pyramid on one contract both stopped out, −₹6,273."""
    async with running(ExecutionSettings(), net_pnl=Decimal("-2000")) as h:  # ₹3,000 left
        await h.signal(START)
        (first,) = h.commands()
        assert first.quantity == 65
        # filled ₹10 below its limit: the position is in profit, so a pyramid may follow
        opened = PositionOpened(
            message_id="po-1",
            correlation_id=first.correlation_id,
            event_time=h.clock.now(),
            security_id=first.contract.security_id,
            segment=first.contract.segment,
            underlying=NIFTY,
            net_quantity=65,
            average_price=first.entry_price - 10,
            realized_pnl=Decimal("0"),
        )  # fmt: skip
        await h.bus.publish_durable(subjects.position_event("PositionOpened"), opened)
        await h.bus.settle()
        await h.signal(START + timedelta(minutes=5))
        assert len(h.commands()) == 1, "the pyramid alone would fit the ₹3,000, not with the entry's stop"
        refused = h.decisions.records[-1]
        assert (refused.outcome, refused.gate) == (DecisionOutcome.REFUSED, "loss_budget")
        open_risk, budget_for_entry = (Decimal(refused.details[k]) for k in ("open_risk", "budget_for_entry"))
        assert open_risk > 0
        assert budget_for_entry == Decimal(3000) - open_risk
        assert Decimal(refused.details["one_lot_loss_at_stop"]) > budget_for_entry
        assert Decimal(refused.details["one_lot_loss_at_stop"]) <= Decimal(3000)
