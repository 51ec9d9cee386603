"""Fault trials: what a settled system is checked for, and how trials are counted (pure parts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sarathi.cli.books import Books, FillRecord, OrderRecord, TrackerRecord
from sarathi.cli.chaos.__main__ import main as chaos_main
from sarathi.cli.chaos.findings import Finding, Kind, compare
from sarathi.cli.chaos.quiet import Look, Settling
from sarathi.cli.chaos.system import Seen, components, restarted
from sarathi.cli.chaos.tally import CLOSE_CHECK, Trial, exit_code, render, totals
from sarathi.cli.chaos.trials import COMPONENTS, parse_components
from sarathi.common.domain.calendar import IST

CALL = "106290968"
OPEN = datetime(2026, 9, 16, 9, 15, tzinfo=IST)


def an_order(
    cid: str, broker_id: str, side: str, qty: int, *, leg: str, status: str = "TRADED"
) -> OrderRecord:
    filled = qty if status == "TRADED" else 0
    command = cid.split("/", maxsplit=1)[0]
    return OrderRecord(cid, broker_id, command, CALL, side, "MARKET", qty, status, leg, filled,
                       Decimal(100) if filled else None, None, OPEN)  # fmt: skip


def a_fill(order: OrderRecord, price: str, qty: int | None = None) -> FillRecord:
    qty = order.quantity if qty is None else qty
    return FillRecord(order.client_order_id, order.broker_order_id, f"cum{qty}", CALL, order.side, qty,
                      Decimal(price), OPEN + timedelta(minutes=5))  # fmt: skip


def a_tracker(status: str, quantity: int, entry: str = "N1-E0") -> TrackerRecord:
    closed = OPEN + timedelta(minutes=30) if status == "CLOSED" else None
    return TrackerRecord(entry, CALL, "NIFTY", status, None, OPEN, closed, Decimal(0), False, None, quantity)


def broker_order(order: OrderRecord, correlation: str, order_id: str | None = None) -> dict[str, Any]:
    return {"orderId": order_id or order.broker_order_id, "correlationId": correlation,
            "legName": order.leg_name, "orderStatus": order.status,
            "filledQty": order.filled_quantity}  # fmt: skip


def a_trade(order_id: str, qty: int, price: float, trade_id: str, minute: int) -> dict[str, Any]:
    return {"orderId": order_id, "exchangeTradeId": trade_id, "tradedQuantity": qty, "tradedPrice": price,
            "exchangeTime": f"2026-09-16 09:{15 + minute:02d}:00"}  # fmt: skip


def a_position(net: int, bought: int, sold: int, realised: float = 0.0) -> dict[str, Any]:
    return {"securityId": CALL, "netQty": net, "buyQty": bought, "sellQty": sold, "realizedProfit": realised}


def an_open_position() -> tuple[Books, dict[str, Any]]:
    """One super order entry of 65 filled at 100, its legs working; risk tracks the 65."""
    entry = an_order("N1-E0", "5001", "BUY", 65, leg="ENTRY_LEG")
    stop = an_order("N1-E0/STOP_LOSS", "5002", "SELL", 65, leg="STOP_LOSS_LEG", status="PENDING")
    target = an_order("N1-E0/TARGET", "5003", "SELL", 65, leg="TARGET_LEG", status="PENDING")
    books = Books((entry, stop, target), (a_fill(entry, "100"),), (a_tracker("OPEN", 65),), (), (), {})
    broker = {
        "orders": [broker_order(o, "N1-E0") for o in (entry, stop, target)],
        "trades": [a_trade("5001", 65, 100.0, "T1", 1)],
        "positions": [a_position(65, 65, 0)],
    }
    return books, broker


def kinds(findings: list[Finding]) -> list[tuple[Kind, str]]:
    return [(f.kind, f.key) for f in findings]


def test_books_equal_to_the_brokers_give_no_finding() -> None:
    books, broker = an_open_position()
    assert compare(books, broker) == []


def test_a_resent_entry_the_books_never_recorded_is_a_duplicate_a_divergence_and_a_lost_fill() -> None:
    # The incident: PostgreSQL lost the record of entry 5001, the command was sent again (5004).
    books, broker = an_open_position()
    resent = an_order("N1-E0", "5004", "BUY", 65, leg="ENTRY_LEG")
    broker["orders"].append(broker_order(resent, "N1-E0"))
    broker["trades"].append(a_trade("5004", 65, 101.0, "T2", 2))
    broker["positions"] = [a_position(130, 130, 0)]
    found = kinds(compare(books, broker))
    assert (Kind.DUPLICATE, "N1-E0 ENTRY_LEG") in found
    assert (Kind.FILL_LOST, "5004/T2") in found
    assert (Kind.DIVERGENCE, "orders") in found
    assert (Kind.DIVERGENCE, "positions") in found
    assert (Kind.DIVERGENCE, f"trackers {CALL}") in found  # risk tracks 65 of the broker's 130


def test_a_plain_order_beside_the_super_order_entry_of_one_command_is_a_duplicate() -> None:
    # Seen injecting a resend by hand: the plain BUY under the entry's correlation id (leg "NA")
    # was not counted as a duplicate of the super order's ENTRY_LEG.
    books, broker = an_open_position()
    resent = an_order("N1-E0", "5004", "BUY", 65, leg="NA")
    broker["orders"].append(broker_order(resent, "N1-E0"))
    duplicates = [f for f in compare(books, broker) if f.kind is Kind.DUPLICATE]
    assert [(f.key, f.detail) for f in duplicates] == [
        ("N1-E0 ENTRY_LEG", "2 broker orders: 5001 ENTRY_LEG, 5002 STOP_LOSS_LEG, 5003 TARGET_LEG, 5004 NA")
    ]


def test_a_square_off_that_sold_the_untracked_units_too_is_short_in_our_books() -> None:
    # The incident's end: the broker's 130 sold by our exit, of which our fills knew only 65 bought.
    books, broker = an_open_position()
    exit_ = an_order("xSQ-N1-E0", "5009", "SELL", 130, leg="NA")
    books = Books((*books.orders, exit_), (*books.fills, a_fill(exit_, "90")), (a_tracker("CLOSED", 0),),
                  (), (), {})  # fmt: skip
    broker["orders"].append(broker_order(exit_, "xSQ-N1-E0"))
    broker["trades"] += [a_trade("5004", 65, 101.0, "T2", 2), a_trade("5009", 130, 90.0, "T3", 3)]
    broker["positions"] = [a_position(0, 130, 130)]
    found = kinds(compare(books, broker))
    assert (Kind.SHORT, f"ours {CALL}") in found
    assert (Kind.SHORT, f"broker {CALL}") not in found  # the broker itself stayed flat


def test_a_short_at_the_broker_is_found() -> None:
    books, broker = an_open_position()
    broker["positions"] = [a_position(-65, 65, 130)]
    assert (Kind.SHORT, f"broker {CALL}") in kinds(compare(books, broker))


def test_realised_pnl_of_a_contract_held_again_after_a_round_trip_is_not_a_divergence() -> None:
    # Bought 65 at 100, sold them at 110, bought 65 again at 120: the broker books ₹650 on its
    # moving average cost, the day's averages give 0 until the contract is flat again.
    books, broker = an_open_position()
    entry, sell, again = (
        books.orders[0],
        an_order("xTR-N1-E0", "5005", "SELL", 65, leg="NA"),
        an_order("N2-E0", "5006", "BUY", 65, leg="NA"),
    )
    fills = (a_fill(entry, "100"), a_fill(sell, "110"), a_fill(again, "120"))
    books = Books((entry, sell, again), fills, (a_tracker("OPEN", 65, entry="N2-E0"),), (), (), {})
    broker["orders"] = [
        broker_order(entry, "N1-E0"),
        broker_order(sell, "xTR-N1-E0"),
        broker_order(again, "N2-E0"),
    ]
    broker["trades"] = [a_trade("5001", 65, 100.0, "T1", 1), a_trade("5005", 65, 110.0, "T2", 2),
                        a_trade("5006", 65, 120.0, "T3", 3)]  # fmt: skip
    broker["positions"] = [a_position(65, 130, 65, realised=650.0)]
    assert compare(books, broker) == []


def test_realised_pnl_of_a_flat_contract_that_differs_is_a_divergence() -> None:
    books, broker = an_open_position()
    exit_ = an_order("xTR-N1-E0", "5005", "SELL", 65, leg="NA")
    books = Books((*books.orders, exit_), (*books.fills, a_fill(exit_, "110")), (a_tracker("CLOSED", 0),),
                  (), (), {})  # fmt: skip
    broker["orders"].append(broker_order(exit_, "xTR-N1-E0"))
    broker["trades"].append(a_trade("5005", 65, 110.0, "T2", 2))
    broker["positions"] = [a_position(0, 65, 65, realised=600.0)]  # ours: 650
    assert kinds(compare(books, broker)) == [(Kind.DIVERGENCE, "realised P&L")]


def test_a_partial_fill_we_missed_is_one_lost_fill_and_the_covered_one_is_not() -> None:
    books, broker = an_open_position()
    entry = books.orders[0]
    books = Books(books.orders, (a_fill(entry, "100", qty=25),), books.trackers, (), (), {})
    broker["trades"] = [a_trade("5001", 25, 100.0, "T1", 1), a_trade("5001", 40, 100.0, "T1b", 2)]
    lost = [f for f in compare(books, broker) if f.kind is Kind.FILL_LOST]
    assert [f.key for f in lost] == ["5001/T1b"]


def test_risk_still_tracking_a_position_the_broker_closed_is_a_divergence() -> None:
    books, broker = an_open_position()
    broker["positions"] = [a_position(0, 65, 65)]
    found = compare(books, broker)
    assert (Kind.DIVERGENCE, f"trackers {CALL}") in kinds(found)


def test_two_open_trackers_of_one_netted_position_are_a_divergence() -> None:
    books, broker = an_open_position()
    trackers = (a_tracker("OPEN", 40), a_tracker("OPEN", 25, entry="N2-E0"))
    found = compare(Books(books.orders, books.fills, trackers, (), (), {}), broker)
    assert [f.detail for f in found] == ["2 open trackers for one netted position"]


# -- counting -------------------------------------------------------------------------------------

DUP = Finding(Kind.DUPLICATE, "N1-E0 ENTRY_LEG", "2 broker orders: 5001, 5004")
DIVERGED = Finding(Kind.DIVERGENCE, "positions", f"{CALL}: ours 65, broker 130")


def a_trial(number: int, component: str, *found: Finding, system: int = 1, back: float | None = 3.0) -> Trial:
    return Trial(number, system, component, OPEN, back, 1.0, tuple(found))


def test_a_finding_that_stays_is_counted_once_per_system_where_first_seen() -> None:
    trials = [
        a_trial(1, "orders"),
        a_trial(2, "postgres", DUP, DIVERGED),
        a_trial(3, "risk", DUP, DIVERGED),
        a_trial(4, "nats", DUP, system=2),  # a fresh system: a new duplicate
    ]
    summary = totals(trials)
    assert (summary.trials, summary.diverged) == (4, 2)
    assert summary.distinct[Kind.DUPLICATE] == 2
    assert summary.distinct[Kind.DIVERGENCE] == 1
    assert [(t.number, f.kind) for t, f in summary.new] == [
        (2, Kind.DUPLICATE),
        (2, Kind.DIVERGENCE),
        (4, Kind.DUPLICATE),
    ]
    assert exit_code(trials) == 1


def test_clean_trials_exit_zero_and_the_close_check_is_not_a_trial() -> None:
    trials = [a_trial(1, "feed"), a_trial(2, "signals"), a_trial(0, CLOSE_CHECK, back=None)]
    text = render(trials)
    assert "2 trials: 0 ended diverged, 0 duplicate broker orders, 0 short positions, 0 fills lost" in text
    assert exit_code(trials) == 0


def test_a_row_names_the_other_components_that_came_back_during_the_trial() -> None:
    trial = Trial(1, 1, "nats", OPEN, 4.0, 1.0, (), ("feed", "orders"))
    assert (
        render([trial])
        .splitlines()[1]
        .endswith("nats         4.0s   1.0s      0   0     0    0       feed,orders")
    )


def test_a_component_that_never_came_back_fails_the_run() -> None:
    trials = [a_trial(1, "postgres", back=None)]
    assert totals(trials).unrecovered == 1
    assert "never" in render(trials)
    assert exit_code(trials) == 1


# -- the run state and the arguments ----------------------------------------------------------------


def a_state(pid: int | None, restarts: int, state: str = "running") -> dict[str, Any]:
    component = {
        "pid": pid,
        "port": 8604,
        "url": "http://127.0.0.1:8604",
        "state": state,
        "restarts": restarts,
    }
    return {"components": {"orders": component}}


def test_a_component_is_back_once_running_under_a_new_pid_with_one_restart_more() -> None:
    before = components(a_state(100, 0))["orders"]
    assert before == Seen(100, 0, "running", "http://127.0.0.1:8604")
    assert not restarted(before, components(a_state(None, 0, "restarting"))["orders"], killed_pid=100)
    assert not restarted(before, components(a_state(100, 0))["orders"], killed_pid=100)
    assert restarted(before, components(a_state(230, 1))["orders"], killed_pid=100)
    assert restarted(before, components(a_state(230, 5, "failing"))["orders"], killed_pid=100)


def test_a_run_state_without_components_names_none() -> None:
    assert components({"pid": 1, "service_pids": [2, 3]}) == {}


def test_components_are_parsed_from_a_comma_list_or_all() -> None:
    assert parse_components("orders, risk,orders") == ("orders", "risk")
    assert parse_components("all") == COMPONENTS
    with pytest.raises(ValueError, match="unknown component sim"):
        parse_components("orders,sim")


# -- settling -------------------------------------------------------------------------------------


def a_look(frames_behind: int = 0, *, outbox: int = 0, consumers: int = 0, marks: tuple[int] = (1,)) -> Look:
    busy = ("ORDER_CMD/orders",) if consumers else ()
    return Look(True, frames_behind, outbox, consumers, busy, marks)


def test_two_quiet_looks_with_equal_counters_settle() -> None:
    settling = Settling()
    assert not settling.see(a_look(marks=(1,)), at=0.0)
    assert not settling.see(a_look(marks=(2,)), at=0.1)  # something moved in between
    assert settling.see(a_look(marks=(2,)), at=0.2)


def test_a_command_pending_or_an_event_not_published_is_not_settled() -> None:
    settling = Settling()
    for at in (0.0, 0.1, 5.0):
        assert not settling.see(a_look(consumers=1), at=at)
    for at in (6.0, 6.1, 9.0):
        assert not settling.see(a_look(outbox=2), at=at)


def test_order_updates_lost_with_a_killed_orders_become_the_offset_once_everything_stood_still() -> None:
    # The sim counted 5 frames to the socket of the killed orders; the new one never sees them.
    settling = Settling(offset=0, rebase_seconds=2.0)
    assert not settling.see(a_look(5), at=0.0)
    assert not settling.see(a_look(5), at=1.0)  # may still be on their way
    assert settling.see(a_look(5), at=2.1)
    assert settling.offset == 5
    again = Settling(offset=settling.offset)  # the next trial knows it at once
    assert not again.see(a_look(5, marks=(3,)), at=0.0)
    assert again.see(a_look(5, marks=(3,)), at=0.1)
    assert a_look(7).describe(offset=5) == "2 order update(s) not handled by orders"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--trials", "0"], "argument --trials: 0 is outside 1–10000"),
        (["--trials", "many"], "argument --trials: not a whole number: 'many'"),
        (["--speed", "abc"], "argument --speed: not a number: 'abc'"),
        (["--speed", "5000"], "argument --speed: 5000 is outside 1–2000"),
        (["--components", "orders,sim"], "argument --components: unknown component sim"),
        (["--date", "16-09-2026"], "argument --date: not a date YYYY-MM-DD: '16-09-2026'"),
    ],
)
def test_bad_arguments_get_one_line_before_anything_starts(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        chaos_main(argv)
    assert exited.value.code == 2
    assert error in capsys.readouterr().err
