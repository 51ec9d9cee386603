"""Bars from index ticks: session alignment, closing on the clock, late and out-of-order ticks, warm-up."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.signals.domain.bars import BarBuilder, ClosedBar, SessionGrid, TickOutcome, roll_up

CALENDAR = MarketCalendar()
TUESDAY = date(2026, 9, 15)  # the Monday before is a holiday (Ganesh Chaturthi)
FRIDAY = date(2026, 9, 11)
HOLIDAY = date(2026, 9, 14)
SATURDAY = date(2026, 9, 12)


def at(hour: int, minute: int, second: int = 0, microsecond: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, microsecond, tzinfo=IST)


def a_builder(**kwargs: object) -> BarBuilder:
    return BarBuilder(Underlying.NIFTY, CALENDAR, **kwargs)  # type: ignore[arg-type]


def tick(builder: BarBuilder, price: str, exchange_time: datetime, delay_ms: int = 50) -> TickOutcome:
    return builder.on_tick(Decimal(price), exchange_time, exchange_time + timedelta(milliseconds=delay_ms))


def a_history_bar(start: datetime, close: str, minutes: int = 5) -> ClosedBar:
    price = Decimal(close)
    return ClosedBar(
        Underlying.NIFTY, start, start + timedelta(minutes=minutes), price, price + 5, price - 5, price
    )


# --- alignment and the session ----------------------------------------------------------------


def test_the_first_bar_starts_at_0915_and_a_tick_at_091959_9_still_belongs_to_it() -> None:
    builder = a_builder()
    tick(builder, "24800.10", at(9, 15, 0))
    tick(builder, "24810.55", at(9, 19, 59, 900_000))
    tick(builder, "24790.00", at(9, 20, 0))

    (first,) = builder.close_due(at(9, 20))

    assert (first.start, first.end) == (at(9, 15), at(9, 20))
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("24800.10"),
        Decimal("24810.55"),
        Decimal("24800.10"),
        Decimal("24810.55"),
    )
    assert first.tick_count == 2


def test_a_tick_at_152959_belongs_to_the_last_bar_which_ends_at_1530() -> None:
    builder = a_builder()
    tick(builder, "24850", at(15, 29, 59))

    (last,) = builder.close_due(at(15, 30))

    assert (last.start, last.end) == (at(15, 25), at(15, 30))


@pytest.mark.parametrize(
    "exchange_time",
    [
        pytest.param(at(9, 8), id="pre-open"),
        pytest.param(at(9, 14, 59, 999_999), id="just-before-the-open"),
        pytest.param(at(15, 30), id="at-the-close"),
        pytest.param(at(16, 0), id="after-the-close"),
        pytest.param(at(10, 0, day=HOLIDAY), id="holiday"),
        pytest.param(at(10, 0, day=SATURDAY), id="weekend"),
    ],
)
def test_ticks_outside_the_session_are_ignored_and_counted(exchange_time: datetime) -> None:
    builder = a_builder()

    assert tick(builder, "24800", exchange_time) is TickOutcome.OUTSIDE_SESSION
    assert builder.stats.outside_session == 1
    assert builder.close_due(exchange_time + timedelta(days=1)) == []


def test_a_whole_session_of_ticks_makes_75_bars_from_0915_to_1530() -> None:
    builder = a_builder()
    instant = at(9, 15)
    while instant < at(15, 30):
        tick(builder, "24800", instant)
        instant += timedelta(seconds=30)

    bars = builder.close_due(at(15, 30))

    assert len(bars) == 75
    assert bars[0].start == at(9, 15)
    assert bars[-1].end == at(15, 30)
    assert all(b.end - b.start == timedelta(minutes=5) for b in bars)
    assert all(b.tick_count == 10 for b in bars)


def test_one_minute_bars_roll_up_into_the_five_minute_bar() -> None:
    builder = a_builder()
    for minute, prices in enumerate([["100", "103"], ["99", "101"], [], ["110", "104"], ["102"]]):
        for second, price in enumerate(prices):
            tick(builder, price, at(9, 15 + minute, 10 * second))

    (bar,) = builder.close_due(at(9, 20))

    assert (bar.open, bar.high, bar.low, bar.close) == (
        Decimal(100),
        Decimal(110),
        Decimal(99),
        Decimal(102),
    )
    assert bar.tick_count == 7


# --- closing on the clock ----------------------------------------------------------------------


def test_a_bar_closes_on_the_clock_in_a_quiet_market_without_waiting_for_a_tick() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 16))

    assert builder.close_due(at(9, 19, 59, 999_999)) == []
    assert [b.start for b in builder.close_due(at(9, 20))] == [at(9, 15)]


def test_the_first_tick_at_a_bar_end_closes_the_bar_with_exactly_the_ticks_before_it() -> None:
    builder = a_builder(close_grace=timedelta(seconds=30))
    tick(builder, "24800", at(9, 16))
    tick(builder, "24801", at(9, 19, 59, 999_999))
    assert builder.close_through(at(9, 19, 59, 999_999)) == []
    tick(builder, "24805", at(9, 20))

    (bar,) = builder.close_through(at(9, 20))
    assert (bar.end, bar.close, bar.tick_count) == (at(9, 20), Decimal(24801), 2)
    assert tick(builder, "24790", at(9, 19, 59)) is TickOutcome.LATE  # the closed bar stays closed
    assert builder.close_due(at(9, 20, 31)) == []  # nothing left for the clock to close


def test_a_tick_of_the_next_bar_does_not_close_the_current_one_before_the_clock_does() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 16))
    tick(builder, "24805", at(9, 20, 1))

    assert builder.close_due(at(9, 19, 59)) == []
    assert [b.close for b in builder.close_due(at(9, 20))] == [Decimal(24800)]


def test_a_twelve_minute_gap_closes_bars_on_time_and_makes_no_bar_for_the_empty_window() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 15, 30))
    tick(builder, "24812", at(9, 17, 30))
    # no ticks from 09:17:30 to 09:29:30

    at_0920 = builder.close_due(at(9, 20))
    at_0925 = builder.close_due(at(9, 25))
    tick(builder, "24790", at(9, 29, 30))
    at_0930 = builder.close_due(at(9, 30))

    assert [b.start for b in at_0920] == [at(9, 15)]
    assert at_0925 == []
    assert builder.stats.empty_windows == 1
    assert [(b.start, b.open, b.close, b.tick_count) for b in at_0930] == [
        (at(9, 25), Decimal(24790), Decimal(24790), 1)
    ]


def test_a_late_clock_closes_every_due_bar_in_order() -> None:
    builder = a_builder()
    for minute in (16, 21, 26):
        tick(builder, f"248{minute}", at(9, minute))

    bars = builder.close_due(at(9, 31))

    assert [b.start for b in bars] == [at(9, 15), at(9, 20), at(9, 25)]
    assert [b.end for b in builder.history] == [at(9, 20), at(9, 25), at(9, 30)]


def test_the_close_grace_keeps_a_bar_open_for_a_tick_in_flight() -> None:
    builder = a_builder(close_grace=timedelta(seconds=2))
    tick(builder, "24800", at(9, 16))

    assert builder.close_due(at(9, 20, 1)) == []
    assert tick(builder, "24801", at(9, 19, 59), delay_ms=2500) is TickOutcome.ACCEPTED
    assert [b.close for b in builder.close_due(at(9, 20, 2))] == [Decimal(24801)]


# --- late and out-of-order ticks ---------------------------------------------------------------


def test_a_late_tick_for_a_closed_bar_is_dropped_and_counted_and_the_bar_is_not_reopened() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 16))
    (published,) = builder.close_due(at(9, 20))

    outcome = tick(builder, "25000", at(9, 19, 58), delay_ms=3000)

    assert outcome is TickOutcome.LATE
    assert builder.stats.late == 1
    assert builder.close_due(at(9, 25)) == []
    assert builder.history == (published,)
    assert published.high == Decimal(24800)


def test_an_out_of_order_tick_updates_high_and_low_but_not_the_close() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 16, 0))
    tick(builder, "24805", at(9, 16, 10))
    tick(builder, "24850", at(9, 16, 5))  # older by exchange time than the previous tick
    tick(builder, "24750", at(9, 16, 6))

    (bar,) = builder.close_due(at(9, 20))

    assert (bar.high, bar.low, bar.close) == (Decimal(24850), Decimal(24750), Decimal(24805))
    assert builder.stats.out_of_order == 2


def test_an_out_of_order_tick_older_than_the_first_tick_becomes_the_open() -> None:
    builder = a_builder()
    tick(builder, "24800", at(9, 17))
    tick(builder, "24790", at(9, 15, 30))

    (bar,) = builder.close_due(at(9, 20))

    assert (bar.open, bar.close) == (Decimal(24790), Decimal(24800))


def test_ticks_with_the_same_exchange_time_are_ordered_by_arrival() -> None:
    builder = a_builder()
    same_second = at(9, 16, 1)
    builder.on_tick(Decimal("24800"), same_second, same_second + timedelta(milliseconds=10))
    builder.on_tick(Decimal("24801"), same_second, same_second + timedelta(milliseconds=20))

    (bar,) = builder.close_due(at(9, 20))

    assert (bar.open, bar.close) == (Decimal(24800), Decimal(24801))


@given(
    offsets=st.lists(st.integers(0, 299_999), min_size=1, max_size=30, unique=True),
    prices=st.lists(st.integers(2_400_000, 2_500_000), min_size=30, max_size=30),
    arrival=st.randoms(use_true_random=False),
)
def test_a_bar_does_not_depend_on_the_arrival_order_of_its_ticks(
    offsets: list[int], prices: list[int], arrival: object
) -> None:
    ticks = [
        (at(9, 15) + timedelta(milliseconds=ms), Decimal(p) / 100)
        for ms, p in zip(offsets, prices, strict=False)
    ]
    shuffled = list(ticks)
    arrival.shuffle(shuffled)  # type: ignore[attr-defined]
    builder = a_builder()
    received = at(9, 20, 0, 1)
    for exchange_time, price in shuffled:
        builder.on_tick(price, exchange_time, received)

    (bar,) = builder.close_due(at(9, 20))

    in_time_order = sorted(ticks)
    assert bar.open == in_time_order[0][1]
    assert bar.close == in_time_order[-1][1]
    assert bar.high == max(p for _, p in ticks)
    assert bar.low == min(p for _, p in ticks)
    assert bar.tick_count == len(ticks)


# --- input checks ------------------------------------------------------------------------------


def test_a_zero_index_price_is_ignored_and_counted() -> None:
    builder = a_builder()

    assert tick(builder, "0", at(9, 16)) is TickOutcome.INVALID_PRICE
    assert builder.stats.invalid_price == 1
    assert builder.close_due(at(9, 20)) == []


def test_a_float_price_or_a_naive_time_is_refused() -> None:
    builder = a_builder()
    with pytest.raises(TypeError):
        builder.on_tick(24800.5, at(9, 16), at(9, 16))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="naive"):
        builder.on_tick(Decimal(24800), datetime(2026, 9, 15, 9, 16), at(9, 16))  # noqa: DTZ001


# --- warm-up from history ----------------------------------------------------------------------


def test_seeded_history_runs_across_a_weekend_and_a_holiday_without_synthetic_bars() -> None:
    friday_last = a_history_bar(at(15, 25, day=FRIDAY), "24700")
    tuesday_first = a_history_bar(at(9, 15), "24750")
    builder = a_builder()

    builder.seed([friday_last, tuesday_first])
    tick(builder, "24760", at(9, 21))
    builder.close_due(at(9, 25))

    assert [b.start for b in builder.history] == [at(15, 25, day=FRIDAY), at(9, 15), at(9, 20)]


def test_a_tick_for_a_bar_the_history_already_covers_is_late() -> None:
    builder = a_builder()
    builder.seed([a_history_bar(at(9, 15), "24750")])

    assert tick(builder, "24760", at(9, 19)) is TickOutcome.LATE


def test_seed_discards_an_open_bar_that_the_history_covers() -> None:
    builder = a_builder()
    tick(builder, "99999", at(9, 16))

    builder.seed([a_history_bar(at(9, 15), "24750")])

    assert builder.close_due(at(9, 20)) == []
    assert [b.close for b in builder.history] == [Decimal(24750)]


@pytest.mark.parametrize(
    "bad_history",
    [
        pytest.param([a_history_bar(at(9, 16), "24750")], id="off-the-grid"),
        pytest.param([a_history_bar(at(9, 15), "24750", minutes=1)], id="wrong-length"),
        pytest.param([a_history_bar(at(9, 20), "1"), a_history_bar(at(9, 15), "1")], id="unordered"),
        pytest.param([a_history_bar(at(10, 0, day=HOLIDAY), "1")], id="holiday"),
    ],
)
def test_seed_refuses_history_that_is_not_on_the_session_grid(bad_history: list[ClosedBar]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        a_builder().seed(bad_history)


def test_a_builder_is_seeded_once() -> None:
    builder = a_builder()
    builder.seed([])
    with pytest.raises(RuntimeError):
        builder.seed([])


def test_history_is_bounded_to_the_most_recent_bars() -> None:
    builder = a_builder(max_history=2)
    builder.seed([a_history_bar(at(9, 15 + 5 * k), str(24700 + k)) for k in range(4)])

    assert [b.close for b in builder.history] == [Decimal(24702), Decimal(24703)]


def test_dhan_one_minute_history_rolls_up_to_five_minute_bars_on_the_session_grid() -> None:
    grid = SessionGrid(CALENDAR, Underlying.NIFTY.spec.exchange)
    minutes = [
        a_history_bar(at(15, 28, day=FRIDAY), "24700", minutes=1),
        a_history_bar(at(15, 29, day=FRIDAY), "24710", minutes=1),
        a_history_bar(at(9, 15), "24720", minutes=1),
        a_history_bar(at(9, 19), "24730", minutes=1),
        a_history_bar(at(9, 31), "24740", minutes=1),
    ]

    bars = roll_up(minutes, grid)

    assert [(b.start, b.end) for b in bars] == [
        (at(15, 25, day=FRIDAY), at(15, 30, day=FRIDAY)),
        (at(9, 15), at(9, 20)),
        (at(9, 30), at(9, 35)),
    ]
    assert [(b.open, b.high, b.low, b.close) for b in bars][1] == (
        Decimal(24720),
        Decimal(24735),
        Decimal(24715),
        Decimal(24730),
    )


def _every_bar_end(grid: SessionGrid, after: datetime, until: datetime) -> list[datetime]:
    """The grid's ends by brute force: every bar of every trading day, filtered."""
    found = []
    day = after.astimezone(IST).date()
    while day <= until.astimezone(IST).date():
        if CALENDAR.is_trading_day(day, grid.exchange):
            start, close = (
                CALENDAR.session_open(day, grid.exchange),
                CALENDAR.session_close(day, grid.exchange),
            )
            while start < close:
                end = min(start + grid.interval, close)
                if after < end <= until:
                    found.append(end)
                start = end
        day += timedelta(days=1)
    return found


@given(
    st.integers(min_value=0, max_value=5 * 86_400 - 1),
    st.integers(min_value=0, max_value=3 * 86_400),
    st.sampled_from([1, 5, 7, 15, 60]),
)
def test_bar_ends_from_any_instant_are_the_grids_ends_after_it(offset: int, span: int, minutes: int) -> None:
    """`bar_ends` starts at the bar holding `after` (the service calls it on every tick)."""
    grid = SessionGrid(CALENDAR, Underlying.NIFTY.spec.exchange, minutes)
    after = datetime.combine(FRIDAY, datetime.min.time(), IST) + timedelta(seconds=offset)
    until = after + timedelta(seconds=span)

    assert list(grid.bar_ends(after, until)) == _every_bar_end(grid, after, until)
