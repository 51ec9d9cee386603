from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarathi.common.domain.calendar import (
    IST,
    CalendarCoverageError,
    Expiry,
    ExpiryKind,
    MarketCalendar,
    NotATradingDayError,
)
from sarathi.common.domain.holidays import NSE_BSE_HOLIDAYS, Holiday, HolidayTable
from sarathi.common.domain.instruments import Exchange, Underlying

CALENDAR = MarketCalendar()

covered_days = st.dates(min_value=date(2025, 1, 2), max_value=date(2026, 12, 30))
exchanges = st.sampled_from(list(Exchange))


def ist(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=IST)


# -- trading days -------------------------------------------------------------------------------


def test_republic_day_2026_is_not_a_trading_day() -> None:
    assert not CALENDAR.is_trading_day(date(2026, 1, 26), Exchange.NSE)
    assert not CALENDAR.is_trading_day(date(2026, 1, 26), Exchange.BSE)


def test_the_maharashtra_election_closure_of_15_january_2026_is_not_a_trading_day() -> None:
    assert not CALENDAR.is_trading_day(date(2026, 1, 15), Exchange.BSE)


def test_an_ordinary_tuesday_is_a_trading_day() -> None:
    assert CALENDAR.is_trading_day(date(2026, 9, 15), Exchange.NSE)


def test_saturday_and_sunday_are_not_trading_days() -> None:
    assert not CALENDAR.is_trading_day(date(2026, 9, 19), Exchange.NSE)
    assert not CALENDAR.is_trading_day(date(2026, 9, 20), Exchange.BSE)


def test_the_sunday_budget_session_of_2026_is_a_trading_day() -> None:
    assert CALENDAR.is_trading_day(date(2026, 2, 1), Exchange.NSE)


def test_diwali_laxmi_pujan_2025_with_only_a_muhurat_hour_is_not_a_trading_day() -> None:
    assert not CALENDAR.is_trading_day(date(2025, 10, 21), Exchange.NSE)


def test_next_trading_day_skips_the_weekend_and_the_ganesh_chaturthi_monday() -> None:
    assert CALENDAR.next_trading_day(date(2026, 9, 11)) == date(2026, 9, 15)


def test_previous_trading_day_skips_a_holiday_and_the_weekend() -> None:
    assert CALENDAR.previous_trading_day(date(2026, 4, 6)) == date(2026, 4, 2)  # Good Friday 3 Apr


def test_a_year_outside_the_holiday_table_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarCoverageError, match="2027"):
        CALENDAR.is_trading_day(date(2027, 3, 2), Exchange.NSE)


def test_stepping_past_the_covered_years_is_refused() -> None:
    with pytest.raises(CalendarCoverageError):
        CALENDAR.next_trading_day(date(2026, 12, 31))


def test_a_datetime_is_not_accepted_as_a_day() -> None:
    with pytest.raises(TypeError, match="datetime"):
        CALENDAR.is_trading_day(ist(date(2026, 9, 15), 10, 0))


@given(covered_days, exchanges)
def test_next_trading_day_is_a_trading_day_strictly_later_with_none_between(
    day: date, exchange: Exchange
) -> None:
    following = CALENDAR.next_trading_day(day, exchange)
    assert following > day
    assert CALENDAR.is_trading_day(following, exchange)
    between = (day + timedelta(days=n) for n in range(1, (following - day).days))
    assert not any(CALENDAR.is_trading_day(d, exchange) for d in between)


@given(covered_days, exchanges)
def test_previous_trading_day_is_a_trading_day_strictly_earlier_with_none_between(
    day: date, exchange: Exchange
) -> None:
    preceding = CALENDAR.previous_trading_day(day, exchange)
    assert preceding < day
    assert CALENDAR.is_trading_day(preceding, exchange)
    first_from_day = CALENDAR.next_trading_day(preceding, exchange)
    assert first_from_day >= day
    assert (first_from_day == day) == CALENDAR.is_trading_day(day, exchange)


# -- the session --------------------------------------------------------------------------------


def test_the_session_opens_at_0915_and_closes_at_1530_ist() -> None:
    day = date(2026, 9, 15)
    assert CALENDAR.session_open(day) == ist(day, 9, 15)
    assert CALENDAR.session_close(day) == ist(day, 15, 30)
    assert CALENDAR.session_open(day).utcoffset() == timedelta(hours=5, minutes=30)


def test_the_market_is_open_at_0915_exactly_and_closed_at_1530_exactly() -> None:
    day = date(2026, 9, 15)
    assert not CALENDAR.is_open(ist(day, 9, 14, 59))
    assert CALENDAR.is_open(ist(day, 9, 15))
    assert CALENDAR.is_open(ist(day, 15, 29, 59))
    assert not CALENDAR.is_open(ist(day, 15, 30))


def test_an_instant_in_utc_is_judged_in_ist() -> None:
    assert CALENDAR.is_open(datetime(2026, 9, 15, 3, 45, tzinfo=UTC))  # 09:15 IST
    assert not CALENDAR.is_open(datetime(2026, 9, 15, 10, 0, tzinfo=UTC))  # 15:30 IST


def test_the_market_is_closed_all_day_on_a_holiday() -> None:
    assert not CALENDAR.is_open(ist(date(2026, 1, 26), 11, 0))


def test_session_times_on_a_holiday_are_refused() -> None:
    with pytest.raises(NotATradingDayError):
        CALENDAR.session_open(date(2026, 1, 26))


def test_square_off_defaults_to_1515_and_follows_settings() -> None:
    day = date(2026, 9, 15)
    assert CALENDAR.square_off_time(day) == ist(day, 15, 15)
    assert MarketCalendar(square_off=time(15, 0)).square_off_time(day) == ist(day, 15, 0)


def test_a_square_off_after_the_close_is_refused() -> None:
    with pytest.raises(ValueError, match="square_off"):
        MarketCalendar(square_off=time(15, 45))


def test_minutes_to_close_counts_whole_minutes_and_is_zero_when_closed() -> None:
    day = date(2026, 9, 15)
    assert CALENDAR.minutes_to_close(ist(day, 15, 0, 30)) == 29
    assert CALENDAR.time_to_close(ist(day, 15, 0, 30)) == timedelta(minutes=29, seconds=30)
    assert CALENDAR.minutes_to_close(ist(day, 8, 0)) == 0
    assert CALENDAR.minutes_to_close(ist(day, 15, 30)) == 0


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.is_open(datetime(2026, 9, 15, 10, 0))  # noqa: DTZ001 - the point of the test


# -- expiries -----------------------------------------------------------------------------------


def test_nifty_expires_weekly_on_tuesday_15_september_2026() -> None:
    assert CALENDAR.expiries(Underlying.NIFTY, date(2026, 9, 14), date(2026, 9, 20)) == [
        Expiry(date(2026, 9, 15), Underlying.NIFTY, ExpiryKind.WEEKLY)
    ]


def test_banknifty_has_only_the_monthly_expiry_on_the_last_tuesday_29_september_2026() -> None:
    assert CALENDAR.expiries(Underlying.BANKNIFTY, date(2026, 9, 1), date(2026, 9, 30)) == [
        Expiry(date(2026, 9, 29), Underlying.BANKNIFTY, ExpiryKind.MONTHLY)
    ]


def test_sensex_expires_weekly_on_thursday_17_september_2026() -> None:
    assert CALENDAR.is_expiry_day(Underlying.SENSEX, date(2026, 9, 17))
    assert not CALENDAR.is_expiry_day(Underlying.SENSEX, date(2026, 9, 15))
    assert CALENDAR.next_expiry(Underlying.SENSEX, date(2026, 9, 16)).kind is ExpiryKind.WEEKLY


def test_nifty_weekly_due_on_holi_tuesday_expires_on_the_monday_before() -> None:
    assert CALENDAR.next_expiry(Underlying.NIFTY, date(2026, 2, 25)).day == date(2026, 3, 2)
    assert not CALENDAR.is_expiry_day(Underlying.NIFTY, date(2026, 3, 3))


def test_monthly_due_on_mahavir_jayanti_31_march_2026_expires_on_30_march() -> None:
    expiry = CALENDAR.next_expiry(Underlying.BANKNIFTY, date(2026, 3, 1))
    assert expiry == Expiry(date(2026, 3, 30), Underlying.BANKNIFTY, ExpiryKind.MONTHLY)


def test_sensex_weekly_of_the_15_january_2026_closure_expired_on_14_january() -> None:
    assert CALENDAR.is_expiry_day(Underlying.SENSEX, date(2026, 1, 14))


def test_nifty_moved_from_thursday_to_tuesday_on_1_september_2025() -> None:
    days = [e.day for e in CALENDAR.expiries(Underlying.NIFTY, date(2025, 8, 25), date(2025, 9, 5))]
    assert days == [date(2025, 8, 28), date(2025, 9, 2)]


def test_next_expiry_on_an_expiry_day_is_that_day() -> None:
    assert CALENDAR.next_expiry(Underlying.NIFTY, date(2026, 9, 15)).day == date(2026, 9, 15)


def test_expiries_beyond_the_covered_years_are_refused() -> None:
    with pytest.raises(CalendarCoverageError):
        CALENDAR.expiries(Underlying.NIFTY, date(2026, 12, 1), date(2027, 1, 31))
    with pytest.raises(CalendarCoverageError):
        CALENDAR.next_expiry(Underlying.NIFTY, date(2026, 12, 30))


def test_the_last_covered_expiry_is_found_without_reading_the_next_year() -> None:
    assert CALENDAR.next_expiry(Underlying.SENSEX, date(2026, 12, 25)).day == date(2026, 12, 31)


@given(st.sampled_from(list(Underlying)), covered_days)
def test_every_expiry_is_a_trading_day_and_each_month_has_one_monthly(
    underlying: Underlying, day: date
) -> None:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    found = CALENDAR.expiries(underlying, start, end)
    exchange = underlying.spec.exchange
    assert all(CALENDAR.is_trading_day(e.day, exchange) and e.day.weekday() < 5 for e in found)
    assert [e.kind for e in found].count(ExpiryKind.MONTHLY) == 1
    assert found == sorted(found)


# -- the holiday table --------------------------------------------------------------------------


def test_the_holiday_table_refuses_a_weekend_holiday_row() -> None:
    with pytest.raises(ValueError, match="wrong kind of day"):
        HolidayTable(frozenset({2026}), (Holiday(date(2026, 8, 15), "Independence Day", "test"),))


def test_every_checked_in_holiday_names_its_source() -> None:
    assert all(h.source for h in NSE_BSE_HOLIDAYS.holidays)
    assert NSE_BSE_HOLIDAYS.covered_years == frozenset({2025, 2026})
