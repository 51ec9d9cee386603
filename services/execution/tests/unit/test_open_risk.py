"""What open positions and pending entries could still lose at their stops, and what that leaves
a new entry of risk's loss budget: everything stopping out together stays within the limit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.clock import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange, OptionType, Underlying
from sarathi.execution.adapters.book_store import dump, load
from sarathi.execution.domain.book import HeldPosition, PendingEntry, PositionBook, StopLevel
from sarathi.execution.domain.open_risk import EntryBudget, budget_for_entry, held_risk
from sarathi.execution.domain.outcome import Allowed, Gate, Refused
from sarathi.execution.domain.sizing import SizingMode, SizingRules, StopLossCost, plan_entry

NOW = datetime(2026, 9, 15, 10, 20, tzinfo=IST)
NIFTY = Underlying.NIFTY


def an_entry(
    command_id: str, security_id: str, *, stop_fill: str | None = "188.15", loss: str | None = "3412.96"
) -> PendingEntry:
    return PendingEntry(
        command_id, security_id, NIFTY, OptionType.CALL, NOW, 65, Decimal("240"), NOW,
        None if stop_fill is None else Decimal(stop_fill), None if loss is None else Decimal(loss),
    )  # fmt: skip


def a_position(security_id: str, quantity: int = 65, average: str = "240") -> HeldPosition:
    return HeldPosition(security_id, "NSE_FNO", NIFTY, OptionType.CALL, quantity, Decimal(average))


def test_a_held_lot_can_still_lose_from_its_price_down_to_its_stop() -> None:
    position = a_position("111")
    assert held_risk(position, [StopLevel(65, Decimal("188.15"))], Decimal("250")) == Decimal("4020.25")
    assert held_risk(position, [StopLevel(65, Decimal("188.15"))], Decimal("180")) == 0  # below its stop


def test_units_are_matched_to_the_lowest_stops_first_and_units_without_a_stop_lose_everything() -> None:
    two_lots = a_position("111", quantity=130)
    stops = [StopLevel(65, Decimal("200")), StopLevel(65, Decimal("180"))]
    assert held_risk(two_lots, stops, Decimal("250")) == (50 + 70) * 65
    one_lot_left = a_position("111", quantity=65)  # one stop leg filled: keep the larger risk
    assert held_risk(one_lot_left, stops, Decimal("250")) == 70 * 65
    assert held_risk(two_lots, [], Decimal("250")) == 250 * 130


def test_a_filled_entry_keeps_its_stop_until_its_position_closes_and_survives_a_restart() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("111"))
    assert book.stops == {"111": [StopLevel(65, Decimal("188.15"))]}
    assert load(dump(book)).stops == book.stops
    book.position_closed("e2", "111", NIFTY)
    assert book.stops == {}


def test_the_budget_for_an_entry_is_what_risk_left_less_open_and_pending_risk() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("111"))
    book.record_entry(an_entry("c1", "222", loss="1000"))
    outcome = budget_for_entry(Decimal("5650"), book, {"111": Decimal("250")})
    assert outcome == Allowed(EntryBudget(Decimal("629.75"), Decimal("4020.25"), Decimal("1000.00")))


def test_no_budget_is_left_when_open_positions_could_lose_it_all_or_cannot_be_priced() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111"))
    book.position_opened_or_grew("e1", a_position("111"))
    spent = budget_for_entry(Decimal("4000"), book, {"111": Decimal("250")})
    unpriced = budget_for_entry(Decimal("4000"), book, {})
    assert isinstance(spent, Refused)
    assert spent.gate is Gate.LOSS_BUDGET
    assert "could lose all of the ₹4000" in spent.reason
    assert isinstance(unpriced, Refused)
    assert "no current price for open position 111" in unpriced.reason


def test_a_pending_entry_of_unknown_loss_counts_at_its_whole_cost() -> None:
    book = PositionBook()
    book.record_entry(an_entry("c0", "111", stop_fill=None, loss=None))
    outcome = budget_for_entry(Decimal("20000"), book, {})
    assert outcome == Allowed(EntryBudget(Decimal("4400.00"), Decimal("0.00"), Decimal("15600.00")))


# --- the whole day: everything stopping out together stays within the limit --------------------

LIMIT = Decimal(5000)
COST = StopLossCost(Exchange.NSE, NOW.date())


@st.composite
def days(draw: st.DrawFn) -> list[tuple[Decimal, int, Decimal]]:
    """Entries in turn: (ask, lot size, where the held price is when the next one is decided)."""
    count = draw(st.integers(min_value=1, max_value=6))
    return [
        (
            draw(st.decimals(min_value=Decimal("5"), max_value=Decimal("400"), places=2)),
            draw(st.sampled_from([20, 30, 65])),
            draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal("1.5"), places=2)),
        )
        for _ in range(count)
    ]


@given(days(), st.sampled_from(list(SizingMode)))
def test_all_entries_of_a_day_stopping_out_together_lose_at_most_the_daily_limit(
    day: list[tuple[Decimal, int, Decimal]], mode: SizingMode
) -> None:
    rules = SizingRules(mode=mode, lots=3, max_lots=10, max_capital_per_trade_inr=Decimal("1E7"))
    book = PositionBook()
    entries: list[tuple[str, Decimal, int, Decimal]] = []  # security, entry, quantity, stop fill
    marks: dict[str, Decimal] = {}
    worst = Decimal(0)  # every entry placed so far stopped out (charges included)
    for n, (ask, lot_size, move) in enumerate(day):
        # risk's figure: the limit plus today's net P&L, open positions marked (charges at the mark)
        net = Decimal(0)
        for security_id, entry, quantity, _ in entries:
            trip = ChargesCalculator().round_trip(
                entry, marks[security_id], quantity, Exchange.NSE, NOW.date()
            )
            net += trip.net_pnl
        budget_left = max(LIMIT + net, Decimal(0))
        allowed = budget_for_entry(budget_left, book, marks)
        if isinstance(allowed, Refused):
            continue
        outcome = plan_entry(ask, lot_size, rules, budget_left=allowed.value.left, cost=COST)
        if isinstance(outcome, Refused):
            continue
        plan = outcome.value
        security_id = str(n)
        book.record_entry(
            PendingEntry(
                f"c{n}", security_id, NIFTY, OptionType.CALL, NOW, plan.quantity, plan.entry_price, NOW,
                plan.bound.stop_fill, plan.bound.loss,
            )
        )  # fmt: skip
        book.position_opened_or_grew(f"e{n}", a_position(security_id, plan.quantity, str(plan.entry_price)))
        entries.append((security_id, plan.entry_price, plan.quantity, plan.bound.stop_fill))
        worst += plan.bound.loss
        for security_id, entry, _, _ in entries:  # prices move before the next decision
            marks[security_id] = max(Decimal("0.05"), (entry * move).quantize(Decimal("0.05")))
    assert worst <= LIMIT
