"""Step holds: how one read of the system is judged, and the JetStream probe on a real NATS server."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from sarathi.cli.barriers import BarCloseBarriers
from sarathi.cli.lockstep import Consumers, JetStreamProbe, Readers, StepHolds, step_state
from sarathi.common.domain.calendar import IST

T = datetime(2026, 9, 16, 10, 0, 5, tzinfo=IST)
BEFORE = T - timedelta(seconds=5)
IDLE = Consumers(0, (), (("ORDER_CMD/orders", 3, 3),))


def sim(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "now": T.isoformat(),
        "next_step": (T + timedelta(seconds=5)).isoformat(),
        "order_update_frames": 4,
        "feed_subscriptions": [
            {"segment": "IDX_I", "security_id": "13"},
            {"segment": "NSE_FNO", "security_id": "4711"},
        ],
        "working_orders": 2,
        "open_positions": 1,
    }
    return base | changes


def orders(**changes: Any) -> dict[str, Any]:
    return {"order_update_frames": 4, "outbox_pending": 0, "events_published": 9} | changes


def contract(
    held_since: datetime, ticks_through: datetime | None, security_id: str = "4711"
) -> dict[str, Any]:
    return {
        "segment": "NSE_FNO",
        "security_id": security_id,
        "held_since": held_since.isoformat(),
        "ticks_through": None if ticks_through is None else ticks_through.isoformat(),
    }


def risk(*contracts: dict[str, Any], closing: int = 0) -> dict[str, Any]:
    return {
        "now": T.isoformat(),
        "contracts": list(contracts),
        "positions_open": len(contracts),
        "positions_closing": closing,
    }


def test_a_step_is_done_when_every_part_has_caught_up() -> None:
    state = step_state(T, sim(), orders(), IDLE, risk(contract(BEFORE, T)))
    assert state.done
    assert state.exposed
    assert state.describe() == "nothing"


def test_a_step_the_sim_has_not_stepped_is_not_done() -> None:
    state = step_state(T, sim(next_step=T.isoformat()), orders(), IDLE, risk())
    assert not state.done
    assert state.describe() == "the sim has not stepped it"


def test_order_updates_orders_has_not_handled_and_unpublished_events_hold_the_step() -> None:
    state = step_state(T, sim(order_update_frames=6), orders(outbox_pending=1), IDLE, risk())
    assert not state.done
    assert state.frames_behind == 2
    assert state.describe() == "2 order update(s) not handled by orders, 1 orders event(s) not published"


def test_a_busy_consumer_holds_the_step() -> None:
    busy = Consumers(1, ("ORDER_CMD/orders",), (("ORDER_CMD/orders", 4, 3),))
    state = step_state(T, sim(), orders(), busy, risk())
    assert not state.done
    assert state.describe() == "consumers busy: ORDER_CMD/orders"


def test_risk_must_have_the_tick_of_the_step_for_contracts_held_before_it() -> None:
    behind = step_state(T, sim(), orders(), IDLE, risk(contract(BEFORE, BEFORE)))
    never = step_state(T, sim(), orders(), IDLE, risk(contract(BEFORE, None)))
    assert behind.ticks_behind == never.ticks_behind == ("NSE_FNO:4711",)
    assert not behind.done
    assert behind.describe() == "risk without the tick of NSE_FNO:4711"


def test_a_contract_first_held_at_the_step_needs_no_tick_yet_but_must_be_on_the_feed() -> None:
    opened_now = risk(contract(T, None, security_id="99"))
    state = step_state(T, sim(), orders(), IDLE, opened_now)
    assert state.ticks_behind == ()
    assert state.unsubscribed == ("NSE_FNO:99",)
    assert state.describe() == "feed not carrying NSE_FNO:99"
    carried = sim(feed_subscriptions=[{"segment": "NSE_FNO", "security_id": "99"}])
    assert step_state(T, carried, orders(), IDLE, opened_now).done


def test_a_flat_broker_is_not_exposed_and_any_moved_counter_changes_the_marks() -> None:
    flat = step_state(T, sim(working_orders=0, open_positions=0), orders(), IDLE, risk())
    assert not flat.exposed
    first = step_state(T, sim(), orders(), IDLE, risk(contract(BEFORE, T)))
    assert first.marks == step_state(T, sim(), orders(), IDLE, risk(contract(BEFORE, T))).marks
    assert (
        first.marks
        != step_state(T, sim(), orders(events_published=10), IDLE, risk(contract(BEFORE, T))).marks
    )
    later = risk(contract(BEFORE, T + timedelta(seconds=5)))
    assert first.marks != step_state(T, sim(), orders(), IDLE, later).marks


class Script:
    """Readers that answer from scripted values and count how often each was read."""

    def __init__(self, sim_reads: list[dict[str, Any]], risk_reads: list[dict[str, Any]]) -> None:
        self.sims, self.risks = sim_reads, risk_reads
        self.reads = {"sim": 0, "orders": 0, "consumers": 0, "risk": 0}

    def _next(self, name: str, values: list[dict[str, Any]]) -> dict[str, Any]:
        self.reads[name] += 1
        return values[min(self.reads[name], len(values)) - 1]

    def answer_risk(self, value: dict[str, Any]) -> None:
        """From now on risk's every read answers `value`."""
        self.risks, self.reads["risk"] = [value], 0

    def readers(self) -> Readers:
        def consumers() -> Consumers:
            self.reads["consumers"] += 1
            return IDLE

        return Readers(
            sim=lambda: self._next("sim", self.sims),
            orders=lambda: self._next("orders", [orders()]),
            consumers=consumers,
            risk=lambda: self._next("risk", self.risks),
        )


def stepped(at: datetime, **changes: Any) -> dict[str, Any]:
    return sim(now=at.isoformat(), next_step=(at + timedelta(seconds=5)).isoformat(), **changes)


def holds(script: Script, timeout: float = 5.0) -> StepHolds:
    return StepHolds(script.readers(), speed=1000, timeout_seconds=timeout, poll_seconds=0)


def test_the_long_way_needs_two_equal_reads_that_are_both_done() -> None:
    script = Script([stepped(T)], [risk(contract(BEFORE, T))])
    steps = holds(script)
    state = steps.wait(T, quick=False)
    assert state.done
    assert script.reads == {"sim": 2, "orders": 2, "consumers": 2, "risk": 2}
    assert (steps.stats.held, steps.stats.short, steps.stats.timed_out) == (1, 0, [])


def test_after_a_quiet_step_a_step_with_only_ticks_takes_the_short_way() -> None:
    after = T + timedelta(seconds=5)
    script = Script(
        [stepped(T), stepped(T), stepped(after)],
        [risk(contract(BEFORE, T)), risk(contract(BEFORE, T)), risk(contract(BEFORE, after))],
    )
    steps = holds(script)
    steps.wait(T, quick=True)  # nothing quiet before it: the long way
    assert steps.wait(after, quick=True).done
    assert steps.stats.short == 1
    assert (script.reads["orders"], script.reads["consumers"]) == (2, 2)  # not read for the short way


def test_an_order_update_since_the_quiet_step_sends_the_next_one_the_long_way() -> None:
    after = T + timedelta(seconds=5)
    script = Script(
        [stepped(T), stepped(T), stepped(after, order_update_frames=5)],
        [risk(contract(BEFORE, T)), risk(contract(BEFORE, T)), risk(contract(BEFORE, after))],
    )
    steps = holds(script, timeout=0.05)
    assert steps.wait(T, quick=True).done
    state = steps.wait(after, quick=True)  # orders still says 4 frames: never done, let go
    assert steps.stats.short == 0
    assert state.frames_behind == 1
    assert steps.stats.timed_out == ["10:00:10: 1 order update(s) not handled by orders"]


def test_a_bar_close_never_takes_the_short_way() -> None:
    after = T + timedelta(seconds=5)
    script = Script(
        [stepped(T), stepped(T), stepped(after)],
        [risk(contract(BEFORE, T)), risk(contract(BEFORE, T)), risk(contract(BEFORE, after))],
    )
    steps = holds(script)
    steps.wait(T, quick=True)
    steps.wait(after, quick=False)
    assert steps.stats.short == 0
    assert script.reads["orders"] == 4


def test_a_step_never_finished_is_let_go_after_the_timeout_and_reported() -> None:
    script = Script([stepped(T)], [risk(contract(BEFORE, BEFORE))])
    steps = holds(script, timeout=0.05)
    state = steps.wait(T, quick=False)
    assert not state.done
    assert steps.stats.timed_out == ["10:00:05: risk without the tick of NSE_FNO:4711"]
    assert "1 let go unmet" in steps.stats.summary()


def test_after_three_holds_in_a_row_let_go_the_day_stops_holding_steps() -> None:
    script = Script([stepped(T)], [risk(contract(BEFORE, BEFORE))])
    steps = holds(script, timeout=0.01)
    for _ in range(2):
        steps.wait(T, quick=False)
    assert not steps.given_up
    steps.wait(T, quick=False)
    assert steps.given_up
    assert steps.stats.summary().endswith("steps no longer held from 10:00:05 (only bar closes)")


def test_a_hold_met_in_between_starts_the_count_again() -> None:
    script = Script([stepped(T)], [risk(contract(BEFORE, BEFORE))])
    steps = holds(script, timeout=0.01)
    steps.wait(T, quick=False)
    steps.wait(T, quick=False)
    script.answer_risk(risk(contract(BEFORE, T)))
    assert steps.wait(T, quick=False).done
    script.answer_risk(risk(contract(BEFORE, BEFORE)))
    steps.wait(T, quick=False)
    steps.wait(T, quick=False)
    assert not steps.given_up


@pytest.mark.parametrize(
    ("moment", "close"),
    [((9, 20, 0), True), ((15, 30, 0), True), ((9, 15, 0), False), ((9, 20, 5), False), ((9, 22, 0), False)],
)
def test_bar_closes_are_the_five_minute_grid_from_0915(moment: tuple[int, int, int], close: bool) -> None:
    assert BarCloseBarriers.is_close(datetime.combine(T.date(), time(*moment), IST)) is close


async def test_the_probe_sees_a_consumer_s_backlog_until_it_acks(jetstream_clean: str) -> None:
    nc = await nats.connect(jetstream_clean)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="ORDER_CMD", subjects=["order.cmd.>"]))
    await js.add_consumer(
        "ORDER_CMD",
        ConsumerConfig(durable_name="orders", ack_policy=AckPolicy.EXPLICIT, filter_subject="order.cmd.>"),
    )
    probe = await asyncio.to_thread(JetStreamProbe, jetstream_clean, ("ORDER_CMD",))
    try:
        assert (await asyncio.to_thread(probe.read)).pending == 0
        await js.publish("order.cmd.exit", b"{}")
        queued = await asyncio.to_thread(probe.read)
        assert (queued.pending, queued.busy) == (1, ("ORDER_CMD/orders",))
        subscription = await js.pull_subscribe_bind("orders", stream="ORDER_CMD")
        (message,) = await subscription.fetch(1, timeout=5)
        delivered = await asyncio.to_thread(probe.read)
        assert delivered.pending == 1  # delivered, not yet acknowledged
        assert delivered.marks == (("ORDER_CMD/orders", 1, 0),)
        await message.ack_sync()
        done = await asyncio.to_thread(probe.read)
        assert (done.pending, done.busy, done.marks) == (0, (), (("ORDER_CMD/orders", 1, 1),))
    finally:
        await asyncio.to_thread(probe.close)
        await nc.close()
