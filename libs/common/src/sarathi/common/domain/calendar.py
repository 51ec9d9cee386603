"""The market calendar in IST: trading days, the regular session, square-off, expiry days.

Facts from REFERENCE §10.1–10.2: NSE and BSE equity derivatives trade 09:15–15:30 IST, Monday to
Friday, except exchange holidays (`sarathi.common.domain.holidays`, amended by the operator's
`SARATHI_HOLIDAYS_FILE`: `sarathi.common.domain.holiday_file`). The session is half-open:
09:15:00 is open, 15:30:00 is closed. India keeps no daylight saving, so IST is a fixed offset
and no tz database is needed.

Nothing here reads the wall clock: callers pass the day or the aware instant they mean. A naive
datetime is refused with `ValueError`, a day outside the holiday table's years with
`CalendarCoverageError` (never a silent "probably a trading day").

Expiries are a rule-based view for the simulator and for cross-checks. Live trading reads the
expiry dates of the contracts it trades from Dhan's instrument master, which is the authority
(exchanges occasionally move a single expiry by circular).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from sarathi.common.domain.holiday_file import default_holidays
from sarathi.common.domain.holidays import CalendarCoverageError, HolidayTable
from sarathi.common.domain.instruments import UNDERLYINGS, Exchange, Underlying

__all__ = [
    "EXPIRY_RULES",
    "IST",
    "CalendarCoverageError",
    "Expiry",
    "ExpiryKind",
    "ExpiryRule",
    "MarketCalendar",
    "NotATradingDayError",
    "require_aware",
]

IST = timezone(timedelta(hours=5, minutes=30), "IST")

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = range(5)
_ONE_DAY = timedelta(days=1)
_LONGEST_HOLIDAY_SHIFT = timedelta(days=7)  # an expiry never moves back a whole week


class NotATradingDayError(ValueError):
    """A session time asked for on a weekend or a holiday."""


class ExpiryKind(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # the month's last expiry weekday: the monthly contract expires that day


@dataclass(frozen=True, slots=True)
class ExpiryRule:
    """From `effective_from` until the underlying's next rule, contracts expire on `weekday`
    (Monday=0) every week if `weekly`, and on the month's last such weekday if `monthly`.

    The rule in force is chosen by the scheduled date, before any holiday shift.
    """

    underlying: Underlying
    effective_from: date
    weekday: int
    weekly: bool
    monthly: bool
    source: str


_NSE_THU = "NSE circular of Nov 2024 (number UNVERIFIED): monthlies on the last Thursday from 1 Jan 2025"
_NSE_TUE = "SEBI/HO/MRD/TPD-1/P/CIR/2025/76 (26 May 2025); NSE/FAOP/68747 (25 Jun 2025)"
_BSE_TUE = "BSE circular of 28 Nov 2024 (Business Standard, 28 Nov 2024): Tuesday from 1 Jan 2025"
_BSE_THU = "SEBI/HO/MRD/TPD-1/P/CIR/2025/76 (26 May 2025); BSE notice 20250623-59"

# The first rule of each underlying starts with the holiday table (2025); it was in force earlier.
# NSE's planned move to Monday (NSE/FAOP/66938) never happened: deferred by NSE/FAOP/67338.
EXPIRY_RULES: tuple[ExpiryRule, ...] = (
    ExpiryRule(Underlying.NIFTY, date(2025, 1, 1), THURSDAY, True, True, _NSE_THU),
    ExpiryRule(Underlying.NIFTY, date(2025, 9, 1), TUESDAY, True, True, _NSE_TUE),
    # Weekly BANKNIFTY options ended on 13 Nov 2024 (one weekly benchmark per exchange).
    ExpiryRule(Underlying.BANKNIFTY, date(2025, 1, 1), THURSDAY, False, True, _NSE_THU),
    ExpiryRule(Underlying.BANKNIFTY, date(2025, 9, 1), TUESDAY, False, True, _NSE_TUE),
    # The SENSEX weekly of Friday 3 Jan 2025 kept its old day; Tuesdays start on 7 Jan.
    ExpiryRule(Underlying.SENSEX, date(2025, 1, 1), FRIDAY, True, True, _BSE_TUE),
    ExpiryRule(Underlying.SENSEX, date(2025, 1, 4), TUESDAY, True, True, _BSE_TUE),
    ExpiryRule(Underlying.SENSEX, date(2025, 9, 1), THURSDAY, True, True, _BSE_THU),
)


@dataclass(frozen=True, slots=True, order=True)
class Expiry:
    """An expiry day of an underlying's options (after any holiday shift)."""

    day: date
    underlying: Underlying
    kind: ExpiryKind

    @property
    def is_monthly(self) -> bool:
        return self.kind is ExpiryKind.MONTHLY


def require_aware(instant: datetime) -> datetime:
    """`instant` in IST, or `ValueError` if it is naive (carries no UTC offset)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass an aware instant (e.g. tzinfo=IST)")
    return instant.astimezone(IST)


def _require_day(day: date) -> None:
    if isinstance(day, datetime):  # a datetime is a date: refuse it rather than drop its time
        raise TypeError(f"expected a date, got the datetime {day!r}")


def _wall_time(value: time, name: str) -> time:
    if value.tzinfo is not None:
        raise ValueError(f"{name} is an IST wall-clock time and must not carry a tzinfo")
    return value


class MarketCalendar:
    """Trading days, session times and expiry days, from a holiday table and expiry rules.

    `holidays` defaults to the built-in table amended by the operator's `SARATHI_HOLIDAYS_FILE`
    (`holiday_file.default_holidays`; a bad file raises `HolidayFileError` here).
    `square_off` is our own cut-off for intraday positions (settings; default 15:15, before
    Dhan's 15:20 auto square-off). Every method taking an `exchange` defaults to NSE.
    """

    def __init__(
        self,
        holidays: HolidayTable | None = None,
        *,
        expiry_rules: Sequence[ExpiryRule] = EXPIRY_RULES,
        session_open: time = time(9, 15),
        session_close: time = time(15, 30),
        square_off: time = time(15, 15),
    ) -> None:
        self._holidays = default_holidays() if holidays is None else holidays
        self._open = _wall_time(session_open, "session_open")
        self._close = _wall_time(session_close, "session_close")
        self._square_off = _wall_time(square_off, "square_off")
        if not self._open < self._square_off <= self._close:
            raise ValueError("need session_open < square_off <= session_close")
        self._rules = tuple(sorted(expiry_rules, key=lambda r: (r.underlying, r.effective_from)))

    @property
    def holidays(self) -> HolidayTable:
        """The holiday table this calendar answers from (with the operator's file, if any)."""
        return self._holidays

    # -- trading days -------------------------------------------------------------------------

    def is_trading_day(self, day: date, exchange: Exchange = Exchange.NSE) -> bool:
        """True on a weekday that is not a holiday, or on a special weekend session."""
        _require_day(day)
        if day.weekday() >= 5:
            return self._holidays.is_special_session(day, exchange)
        return not self._holidays.is_holiday(day, exchange)

    def next_trading_day(self, day: date, exchange: Exchange = Exchange.NSE) -> date:
        """The first trading day strictly after `day`."""
        _require_day(day)
        candidate = day + _ONE_DAY
        while not self.is_trading_day(candidate, exchange):
            candidate += _ONE_DAY
        return candidate

    def previous_trading_day(self, day: date, exchange: Exchange = Exchange.NSE) -> date:
        """The last trading day strictly before `day`."""
        _require_day(day)
        candidate = day - _ONE_DAY
        while not self.is_trading_day(candidate, exchange):
            candidate -= _ONE_DAY
        return candidate

    # -- the session --------------------------------------------------------------------------

    def session_open(self, day: date, exchange: Exchange = Exchange.NSE) -> datetime:
        return self._at(day, self._open, exchange)

    def session_close(self, day: date, exchange: Exchange = Exchange.NSE) -> datetime:
        return self._at(day, self._close, exchange)

    def square_off_time(self, day: date, exchange: Exchange = Exchange.NSE) -> datetime:
        """When our intraday positions must be flat on `day`."""
        return self._at(day, self._square_off, exchange)

    def is_open(self, instant: datetime, exchange: Exchange = Exchange.NSE) -> bool:
        """Whether the regular session runs at `instant`: open at 09:15:00, closed at 15:30:00."""
        local = require_aware(instant)
        if not self.is_trading_day(local.date(), exchange):
            return False
        return self._open <= local.time() < self._close

    def open_session_start(self, instant: datetime, exchange: Exchange = Exchange.NSE) -> datetime | None:
        """When the session running at `instant` opened; None whenever the market is not open."""
        local = require_aware(instant)
        return self.session_open(local.date(), exchange) if self.is_open(local, exchange) else None

    def time_to_close(self, instant: datetime, exchange: Exchange = Exchange.NSE) -> timedelta:
        """Time left in the session at `instant`; zero whenever the market is not open."""
        local = require_aware(instant)
        if not self.is_open(local, exchange):
            return timedelta(0)
        return self.session_close(local.date(), exchange) - local

    def minutes_to_close(self, instant: datetime, exchange: Exchange = Exchange.NSE) -> int:
        """Whole minutes left in the session (rounded down); zero when closed."""
        return int(self.time_to_close(instant, exchange) // timedelta(minutes=1))

    def _at(self, day: date, wall: time, exchange: Exchange) -> datetime:
        if not self.is_trading_day(day, exchange):
            raise NotATradingDayError(f"{day.isoformat()} is not a trading day on {exchange}")
        return datetime.combine(day, wall, tzinfo=IST)

    # -- expiries -----------------------------------------------------------------------------

    def expiries(self, underlying: Underlying, start: date, end: date) -> list[Expiry]:
        """Every expiry of `underlying` with `start <= day <= end`, in date order.

        A scheduled expiry on a holiday moves to the previous regular trading day (a weekday,
        never a special weekend session). Raises `CalendarCoverageError` if the range reaches
        outside the expiry rules or the holiday table.
        """
        _require_day(start)
        _require_day(end)
        rules = [r for r in self._rules if r.underlying is underlying]
        if not rules or start < rules[0].effective_from:
            raise CalendarCoverageError(f"no {underlying} expiry rule in force on {start.isoformat()}")
        self._holidays.require_covered(end)
        exchange = UNDERLYINGS[underlying].exchange
        found: list[Expiry] = []
        scheduled = start
        # A schedule up to a week after `end` can still be shifted back into the range.
        while scheduled <= end + _LONGEST_HOLIDAY_SHIFT:
            if scheduled > end and not self._holidays.covers(scheduled):
                break  # pulled back into range only if every day between were a holiday
            kind = _scheduled_kind(_rule_on(rules, scheduled), scheduled)
            if kind is not None:
                day = self._regular_day_on_or_before(scheduled, exchange)
                if start <= day <= end:
                    found.append(Expiry(day, underlying, kind))
            scheduled += _ONE_DAY
        return found

    def next_expiry(self, underlying: Underlying, on_or_after: date) -> Expiry:
        """The first expiry of `underlying` on or after `on_or_after`."""
        _require_day(on_or_after)
        month_start = on_or_after
        while True:
            month_end = _month_end(month_start)
            found = self.expiries(underlying, month_start, month_end)
            if found:
                return found[0]
            month_start = month_end + _ONE_DAY

    def is_expiry_day(self, underlying: Underlying, day: date) -> bool:
        return bool(self.expiries(underlying, day, day))

    def _regular_day_on_or_before(self, day: date, exchange: Exchange) -> date:
        while day.weekday() >= 5 or self._holidays.is_holiday(day, exchange):
            day -= _ONE_DAY
        return day


def _month_end(day: date) -> date:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - _ONE_DAY


def _rule_on(rules: Sequence[ExpiryRule], day: date) -> ExpiryRule:
    """The rule in force on `day`: the latest one that had started by then."""
    in_force = rules[0]
    for rule in rules:
        if rule.effective_from <= day:
            in_force = rule
    return in_force


def _scheduled_kind(rule: ExpiryRule, day: date) -> ExpiryKind | None:
    """What, if anything, is scheduled to expire on `day` under `rule` (before holiday shifts)."""
    if day.weekday() != rule.weekday:
        return None
    last_of_month = (day + timedelta(days=7)).month != day.month
    if rule.monthly and last_of_month:
        return ExpiryKind.MONTHLY
    return ExpiryKind.WEEKLY if rule.weekly else None
