"""execution end to end: sim (real market and master) → instrument sync → PostgreSQL; feed → NATS;
signals published on JetStream → execution → `order.cmd.submit`.

Also: an entry Dhan rejects (the sim's `reject_orders` fault, through the real orders service)
frees its pyramiding slot and shows in `GET /decisions` with Dhan's reason; a 4th same-direction
entry is refused by pyramiding, PAUSED refuses, and a corrupt master
file is rejected with the old tables kept (through `sarathi instruments sync` as well); and the
loss bound: an entry of fixed lots is cut to what fits in risk's loss budget left, and refused
when not one lot fits in what the real risk service reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from sarathi.cli.__main__ import main as sarathi_cli
from sarathi.common.bus import streams, subjects
from sarathi.common.bus.nats import NatsBus
from sarathi.common.bus.port import KvEntry
from sarathi.common.bus.streams import DAILY_LOSS_BUDGET_KEY, RECONCILIATION_KEY, TRADING_STATE_KEY
from sarathi.common.clock import IST
from sarathi.common.db import migrate
from sarathi.common.db.engine import create_engine
from sarathi.common.dhan.replies import read_replies
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.control import ReconciliationRecord, ReconciliationStatus, TradingState
from sarathi.common.domain.instruments import Exchange, ExchangeSegment, Underlying
from sarathi.common.domain.money import Rounding, round_to_tick
from sarathi.common.messages.base import Message, decode_as
from sarathi.common.messages.orders import OptionContract, PositionOpened, SubmitEntry
from sarathi.common.messages.risk import ControlState, DailyLossBudget
from sarathi.execution.adapters.book_store import BOOK_KEY, load
from sarathi.execution.adapters.derivatives import ListedContract
from sarathi.execution.app import build_app as build_execution
from sarathi.execution.refdata.snapshot import instruments_path, read_instruments
from sarathi.execution.refdata.sync import SyncOptions, run_sync
from sarathi.execution.settings import ExecutionSettings
from sarathi.execution.testing import a_loss_budget, a_signal
from sarathi.feed.app import build_app as build_feed
from sarathi.feed.settings import FeedSettings
from sarathi.orders.app import build_app as build_orders
from sarathi.orders.settings import OrdersSettings
from sarathi.risk.app import build_app as build_risk
from sarathi.risk.settings import RiskSettings
from sarathi.sim.testing.harness import CLIENT_ID, TOKEN, SimPool, runtime_of
from sarathi.sim.testing.server import ServedSim

from .waits import StreamTap, eventually, feed_has_index_ticks, kv_entry, watchers_were_sent

START = datetime(2026, 9, 15, 10, 15, tzinfo=IST)
NIFTY = Underlying.NIFTY


@pytest.fixture
def sim(jetstream_clean: str) -> Iterator[ServedSim]:
    pool = SimPool()
    try:
        yield pool.start(real=True, sim_start=START, sim_publish_clock=True, nats_url=jetstream_clean)
    finally:
        pool.close()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


def sim_now(sim: ServedSim) -> datetime:
    return runtime_of(sim).controller.now()


def master_url(sim: ServedSim) -> str:
    return f"{sim.http_url}/api-data/api-scrip-master-detailed.csv"


def sync(sim: ServedSim, database_url: str, source: str) -> bool:
    engine = create_engine(database_url)
    try:
        return run_sync(engine, SyncOptions(source, min_option_rows=10), sim_now(sim), lambda _: None).ok
    finally:
        engine.dispose()


def derivative_rows(database_url: str) -> list[tuple[str, str, str, object]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select security_id, option_type, strike::text, expiry from refdata.derivative "
            "order by security_id"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def put_control(bus: NatsBus, state: TradingState, at: datetime) -> int:
    """Write the operator's state; its KV revision."""
    value = ControlState(
        message_id=f"cs-{state}", correlation_id="test", event_time=at, state=state, reason="test",
        actor="tester", updated_at=at,
    )  # fmt: skip
    return await bus.kv_put(TRADING_STATE_KEY, value.encode())


async def put_budget(bus: NatsBus, at: datetime, net_pnl: Decimal = Decimal(0)) -> int:
    """What risk writes after a check at `at` (today's net P&L against the ₹5,000 limit); its KV
    revision."""
    return await bus.kv_put(DAILY_LOSS_BUDGET_KEY, a_loss_budget(at, net_pnl=net_pnl).encode())


async def ready_to_trade(bus: NatsBus, sim: ServedSim) -> None:
    """Streams, orders' reconciliation done, trading ACTIVE and risk's full budget, at the sim's now."""
    await bus.ensure_streams()
    at = sim_now(sim)
    record = ReconciliationRecord(
        status=ReconciliationStatus.DONE, reconciled=True, reason="test", at=at, last_success_at=at
    )
    await bus.kv_put(RECONCILIATION_KEY, record.encode())
    await put_control(bus, TradingState.ACTIVE, at)
    await put_budget(bus, at)


async def submitted(commands: StreamTap, command_id: object) -> SubmitEntry:
    """The `SubmitEntry` of a placed decision, once stored (the decision row is written first)."""

    def find(messages: list[Message]) -> SubmitEntry | None:
        return next((m for m in submits_in(messages) if m.message_id == command_id), None)

    return await commands.wait_for(find, f"the SubmitEntry {command_id}")


def submits_in(messages: list[Message]) -> list[SubmitEntry]:
    return [m for m in messages if isinstance(m, SubmitEntry)]


async def stored_submits(commands: StreamTap) -> list[SubmitEntry]:
    """Every SubmitEntry `ORDER_CMD` holds now."""
    return submits_in(await commands.caught_up())


async def decisions(app: FastAPI, underlying: Underlying) -> list[dict[str, object]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://execution") as client:
        reply = await client.get("/decisions", params={"underlying": underlying.value})
    reply.raise_for_status()
    result: list[dict[str, object]] = reply.json()["decisions"]
    return result


async def wait_for_decisions(app: FastAPI, underlying: Underlying, count: int) -> list[dict[str, object]]:
    """The decision rows (newest first) once there are `count` of them."""

    async def rows() -> list[dict[str, object]] | None:
        found = await decisions(app, underlying)
        return found if len(found) >= count else None

    return await eventually(rows, f"{count} decision(s) of {underlying}")


async def execution_follows(nats_url: str, key: str, revision: int) -> None:
    """Execution's watch of `key` has been sent `revision`: the next signal is decided with it."""
    await watchers_were_sent(nats_url, key, revision)


async def book_holds(bus: NatsBus, security_ids: set[str]) -> None:
    """Execution's pyramiding book (its KV snapshot, written before it acks) holds these positions."""
    await kv_entry(
        bus, BOOK_KEY, lambda entry: security_ids <= set(load(entry.value).positions),
        f"execution's book holding {sorted(security_ids)}",
    )  # fmt: skip


def listed_in_sim(sim: ServedSim, contract: OptionContract) -> str:
    """The security id the sim lists (and its option chain shows) for the contract's strike and side."""
    (option,) = (
        o for o in runtime_of(sim).universe.options(NIFTY, contract.expiry)
        if o.strike == contract.strike and o.option_type is contract.option_type
    )  # fmt: skip
    return str(option.security_id)


def settings_for(sim: ServedSim, nats_url: str, database_url: str) -> ExecutionSettings:
    return ExecutionSettings(
        nats_url=nats_url, database_url=database_url, dhan_rest_url=f"{sim.http_url}/v2",
        dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN, instrument_sync_on_start=False,
        instrument_master_url=master_url(sim), max_signal_age_seconds=900,
    )  # fmt: skip


def feed_settings(sim: ServedSim, nats_url: str, recordings: Path) -> FeedSettings:
    return FeedSettings(
        nats_url=nats_url, dhan_feed_url=sim.feed_url, dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN,
        feed_recorder_directory=recordings,
    )  # fmt: skip


def position_opened(n: int, security_id: str, at: datetime) -> PositionOpened:
    return PositionOpened(
        message_id=f"test-po-{n}", correlation_id="test", event_time=at, security_id=security_id,
        segment=ExchangeSegment.NSE_FNO, underlying=NIFTY, net_quantity=65, average_price=Decimal("0.05"),
        realized_pnl=Decimal("0"),
    )  # fmt: skip


async def test_signals_to_one_submit_then_pyramid_limit_then_paused(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    assert sync(sim, fresh_database_url, master_url(sim))
    listed = derivative_rows(fresh_database_url)
    bus = await NatsBus.connect(jetstream_clean, name="test")
    try:
        await ready_to_trade(bus, sim)
        app = build_execution(settings_for(sim, jetstream_clean, fresh_database_url))
        async with (
            StreamTap.open(jetstream_clean, streams.ORDER_CMD) as commands,
            lifespan(build_feed(feed_settings(sim, jetstream_clean, tmp_path))),
            lifespan(app),
        ):
            await feed_has_index_ticks(bus, NIFTY)
            first_bar = START - timedelta(minutes=5)
            await bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, first_bar))
            (placed,) = await wait_for_decisions(app, NIFTY, 1)
            assert placed["outcome"] == "PLACED", placed

            command = await submitted(commands, placed["command_id"])
            assert await stored_submits(commands) == [command]
            contract = command.contract
            assert (contract.security_id, "CE", contract.expiry) in {(r[0], r[1], r[3]) for r in listed}
            assert listed_in_sim(sim, contract) == contract.security_id

            others = [
                r[0]
                for r in listed
                if r[1] == "CE" and r[3] == contract.expiry and r[0] != contract.security_id
            ]
            held = [contract.security_id, *others[:2]]
            for n, security_id in enumerate(held):
                await bus.publish_durable(
                    subjects.position_event("PositionOpened"), position_opened(n, security_id, sim_now(sim))
                )
            await book_holds(bus, set(held))  # the events are in the book before the next signal
            await bus.publish_durable(
                subjects.signal(NIFTY), a_signal(NIFTY, first_bar + timedelta(minutes=1))
            )
            refused = (await wait_for_decisions(app, NIFTY, 2))[0]
            assert (refused["outcome"], refused["gate"]) == ("REFUSED", "pyramiding"), refused
            assert "3 entries" in str(refused["reason"])

            budget = await put_budget(bus, sim_now(sim))
            paused_at = await put_control(bus, TradingState.PAUSED, sim_now(sim))
            await execution_follows(jetstream_clean, DAILY_LOSS_BUDGET_KEY, budget)
            await execution_follows(jetstream_clean, TRADING_STATE_KEY, paused_at)
            await bus.publish_durable(
                subjects.signal(Underlying.BANKNIFTY), a_signal(Underlying.BANKNIFTY, first_bar)
            )
            paused = (await wait_for_decisions(app, Underlying.BANKNIFTY, 1))[0]
            assert (paused["outcome"], paused["gate"]) == ("REFUSED", "trading_state")
            assert "PAUSED" in str(paused["reason"])
            assert await stored_submits(commands) == [command]  # read after the last decision row
    finally:
        await bus.close()


async def test_an_entry_dhan_rejects_frees_its_slot_and_shows_dhans_reason_in_the_decisions(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    assert sync(sim, fresh_database_url, master_url(sim))
    bus = await NatsBus.connect(jetstream_clean, name="test")
    try:
        await ready_to_trade(bus, sim)
        # One entry per underlying: a slot the rejection did not free refuses the next signal.
        settings = settings_for(sim, jetstream_clean, fresh_database_url).model_copy(
            update={"max_entries_per_underlying": 1}
        )
        app = build_execution(settings)
        orders = build_orders(
            OrdersSettings(
                nats_url=jetstream_clean, database_url=fresh_database_url, dhan_rest_url=f"{sim.http_url}/v2",
                dhan_order_update_url=sim.order_update_url, dhan_client_id=CLIENT_ID, dhan_access_token=TOKEN,
            )
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            fault = {
                "kind": "reject_orders",
                "count": 1,
                "error_code": "DH-906",
                "message": "RMS: margin shortfall",
            }
            (await http.post(f"{sim.http_url}/sim/faults", json=fault)).raise_for_status()
        async with (
            StreamTap.open(jetstream_clean, streams.ORDER_CMD) as commands,
            lifespan(orders),
            lifespan(build_feed(feed_settings(sim, jetstream_clean, tmp_path))),
            lifespan(app),
        ):
            await feed_has_index_ticks(bus, NIFTY)
            first_bar = START - timedelta(minutes=5)
            await bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, first_bar))
            rejected, placed = await wait_for_decisions(app, NIFTY, 2)
            assert placed["outcome"] == "PLACED", placed
            assert rejected["outcome"] == "REJECTED", rejected
            assert rejected["command_id"] == placed["command_id"]
            assert rejected["signal_id"] == placed["signal_id"]
            assert rejected["reason"] == "rejected by the broker: DH-906 RMS: margin shortfall"
            assert rejected["details"]["slot_freed"] is True  # type: ignore[index]

            await bus.publish_durable(
                subjects.signal(NIFTY), a_signal(NIFTY, first_bar + timedelta(minutes=1))
            )
            again = (await wait_for_decisions(app, NIFTY, 3))[0]
            assert again["outcome"] == "PLACED", again
            second = await submitted(commands, again["command_id"])
            assert second.pyramid_level == 0  # a fresh campaign: the rejected entry never counted
    finally:
        await bus.close()


def recorded_instruments(directory: Path, day: date) -> list[ListedContract] | None:
    """The day's instruments file, once written."""
    return read_instruments(directory, day) if instruments_path(directory, day).exists() else None


async def test_with_a_recorder_execution_records_the_chain_it_fetched_and_the_instruments_it_holds(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    assert sync(sim, fresh_database_url, master_url(sim))  # before execution starts, as the day does
    recording, today = tmp_path / "recording", sim_now(sim).date()
    bus = await NatsBus.connect(jetstream_clean, name="test")
    try:
        await ready_to_trade(bus, sim)
        settings = settings_for(sim, jetstream_clean, fresh_database_url).model_copy(
            update={"recorder_directory": recording, "instrument_sync_on_start": True}
        )
        app = build_execution(settings)
        async with (
            StreamTap.open(jetstream_clean, streams.ORDER_CMD) as commands,
            lifespan(build_feed(feed_settings(sim, jetstream_clean, recording))),
            lifespan(app),
        ):
            await feed_has_index_ticks(bus, NIFTY)
            await bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, START - timedelta(minutes=5)))
            (placed,) = await wait_for_decisions(app, NIFTY, 1)
            assert placed["outcome"] == "PLACED", placed
            contract = (await submitted(commands, placed["command_id"])).contract
            instruments = await eventually(
                lambda: asyncio.to_thread(recorded_instruments, recording, today), "the instruments recorded"
            )
    finally:
        await bus.close()

    (chain,) = read_replies(recording, today)  # the feed's frames share the directory
    assert (chain.service, chain.kind) == ("execution", "optionchain")
    assert chain.request == {"underlying": "NIFTY", "expiry": contract.expiry.isoformat()}
    assert f"{contract.strike:.6f}" in chain.body["data"]["oc"]  # Dhan's body as sent: its strike keys
    assert chain.at.date() == today
    stored = derivative_rows(fresh_database_url)
    assert len(instruments) == len(stored)
    assert {
        (c.contract.security_id, c.contract.option_type.value, c.contract.expiry) for c in instruments
    } == {(r[0], r[1], r[3]) for r in stored}
    assert any(c.contract.security_id == contract.security_id for c in instruments)


def loss_if_stopped_out(command: SubmitEntry, lots: int, slippage: Decimal = Decimal("0.02")) -> Decimal:
    """`lots` of the command's contract bought at its entry price and sold at its stop less the
    slippage allowance: premium lost plus the round trip's charges (the one charges function)."""
    stop_fill = round_to_tick(command.stop_loss_price * (1 - slippage), rounding=Rounding.DOWN)
    quantity = lots * command.lot_size
    trip = ChargesCalculator().round_trip(
        command.entry_price, stop_fill, quantity, Exchange.NSE, command.event_time.date()
    )
    return -trip.net_pnl


async def risks_budget(bus: NatsBus, limit: Decimal) -> KvEntry:
    """The first figure the real risk service wrote with `limit`."""

    def by_risk(entry: KvEntry) -> bool:
        return decode_as(entry.value, DailyLossBudget).loss_limit == limit

    return await kv_entry(bus, DAILY_LOSS_BUDGET_KEY, by_risk, f"risk's loss budget with a ₹{limit} limit")


async def test_fixed_lots_are_cut_to_what_the_loss_budget_left_allows_and_refused_when_no_lot_fits(
    sim: ServedSim, jetstream_clean: str, fresh_database_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(fresh_database_url)
    assert sync(sim, fresh_database_url, master_url(sim))
    bus = await NatsBus.connect(jetstream_clean, name="test")
    try:
        await ready_to_trade(bus, sim)  # nothing lost yet: ₹5,000 left
        settings = settings_for(sim, jetstream_clean, fresh_database_url).model_copy(
            update={"lots": 2, "risk_per_trade_inr": Decimal(5000), "max_lots": 2}
        )
        app = build_execution(settings)
        async with (
            StreamTap.open(jetstream_clean, streams.ORDER_CMD) as commands,
            lifespan(build_feed(feed_settings(sim, jetstream_clean, tmp_path))),
            lifespan(app),
        ):
            await feed_has_index_ticks(bus, NIFTY)
            first_bar = START - timedelta(minutes=5)
            await bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, first_bar))
            (placed,) = await wait_for_decisions(app, NIFTY, 1)
            assert placed["outcome"] == "PLACED", placed
            first = await submitted(commands, placed["command_id"])
            assert await stored_submits(commands) == [first]
            one_lot = loss_if_stopped_out(first, 1)
            assert first.lots == 2 or loss_if_stopped_out(first, 2) > Decimal(5000)

            # A loss so far leaves the first entry's planned loss (still pending: no fill in this
            # test) plus 1.5 lots' worth: the same 2 lots are cut to one.
            pending = loss_if_stopped_out(first, first.lots)
            left = (one_lot * Decimal("1.5")).quantize(Decimal("0.01"))
            cut_budget = await put_budget(bus, sim_now(sim), net_pnl=pending + left - Decimal(5000))
            await execution_follows(jetstream_clean, DAILY_LOSS_BUDGET_KEY, cut_budget)
            await bus.publish_durable(
                subjects.signal(NIFTY), a_signal(NIFTY, first_bar + timedelta(minutes=1))
            )
            cut = (await wait_for_decisions(app, NIFTY, 2))[0]
            assert cut["outcome"] == "PLACED", cut
            second = await submitted(commands, cut["command_id"])
            assert second.lots == 1
            assert loss_if_stopped_out(second, 1) <= left < loss_if_stopped_out(second, 2)
            assert cut["details"]["pending_risk"] == str(pending)  # type: ignore[index]

            # The real risk service, with a ₹500 daily loss limit, now writes the budget: nothing fits.
            risk = build_risk(
                RiskSettings(
                    nats_url=jetstream_clean, database_url=fresh_database_url, control_token="t",
                    risk_daily_loss_limit_inr=Decimal(500),
                )
            )  # fmt: skip
            async with lifespan(risk):
                entry = await risks_budget(bus, Decimal(500))
                await execution_follows(jetstream_clean, DAILY_LOSS_BUDGET_KEY, entry.revision)
                assert decode_as(entry.value, DailyLossBudget).remaining == Decimal(500)
                bar = first_bar + timedelta(minutes=2)
                await bus.publish_durable(subjects.signal(NIFTY), a_signal(NIFTY, bar))
                refused = (await wait_for_decisions(app, NIFTY, 3))[0]
            assert (refused["outcome"], refused["gate"]) == ("REFUSED", "loss_budget"), refused
            assert "₹500.00 of daily loss budget left" in str(refused["reason"])
            assert await stored_submits(commands) == [first, second]  # read after the last decision row
    finally:
        await bus.close()


async def test_a_corrupt_master_is_rejected_and_the_old_tables_kept(
    sim: ServedSim, fresh_database_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(fresh_database_url)
    assert sync(sim, fresh_database_url, master_url(sim))
    before = derivative_rows(fresh_database_url)
    async with httpx.AsyncClient() as client:
        good = (await client.get(master_url(sim))).text
    corrupt = tmp_path / "corrupt.csv"
    corrupt.write_text(good.replace(",65.0,", ",sixty-five,", 1))
    truncated = tmp_path / "truncated.csv"
    truncated.write_text("\n".join(good.splitlines()[:6]))

    assert not sync(sim, fresh_database_url, str(corrupt))
    today = sim_now(sim).date().isoformat()
    code = await asyncio.to_thread(
        sarathi_cli,
        [
            "instruments",
            "sync",
            "--source",
            str(truncated),
            "--today",
            today,
            "--database-url",
            fresh_database_url,
        ],
    )
    assert code == 1
    out, err = capfd.readouterr()
    assert "FAILED: rejected, old tables kept" in out
    assert "download: read" in err
    assert derivative_rows(fresh_database_url) == before
    with psycopg.connect(fresh_database_url) as conn:
        runs = conn.execute("select status, message from refdata.sync_run order by id").fetchall()
    assert [r[0] for r in runs] == ["SUCCEEDED", "FAILED", "FAILED"]
    assert "bad LOT_SIZE" in runs[1][1]

    code = await asyncio.to_thread(
        sarathi_cli, ["instruments", "sync", "--source", master_url(sim), "--today", today,
                      "--database-url", fresh_database_url],
    )  # fmt: skip
    assert code == 0
    assert derivative_rows(fresh_database_url) == before
