"""Exchange trading holidays and special weekend sessions, as dated data with their sources.

The table covers whole calendar years (`covered_years`); asking about any other year raises
`CalendarCoverageError` instead of guessing that an unlisted weekday is a trading day. Each new
year is added from the exchange's December circular, and every later amendment (ad-hoc closures
such as election days) is added as its own row naming its own circular.

Years after the last one here come from the operator's file, `SARATHI_HOLIDAYS_FILE`
(`sarathi.common.domain.holiday_file`), until someone adds them below.

Only weekday holidays are listed: a holiday on a Saturday or Sunday changes nothing. A special
session is the opposite case: a weekend day on which the exchange runs the regular 09:15–15:30
session (Union Budget days). Diwali Muhurat sessions are NOT special sessions here: they are an
hour in the evening or afternoon of a holiday, too short and odd for the robot to trade.

Sources (the circulars were checked through several independent transcriptions of their tables;
the PDFs themselves were not read here):
- NSE/CMTR/65587, 13 Dec 2024 — trading holidays for 2025 (capital market and F&O).
- NSE/CMTR/71775 (circular 172/2025), 12 Dec 2025 — trading holidays for 2026; BSE notice
  20251212-8 of the same day carries the same weekday dates.
- NSE/CMTR/72260 and BSE notice 20260112-8, 12 Jan 2026 — 15 Jan 2026 closed for the
  Maharashtra municipal corporation elections (BSE moved that day's expiries to 14 Jan).
- NSE/CMTR/65729 — Saturday 1 Feb 2025 live session (Union Budget).
- NSE/CMTR/72349 — Sunday 1 Feb 2026 live session (Union Budget); BSE announced the same.
UNVERIFIED: the number of BSE's notice for the 2025 list, and BSE's own notice for the
1 Feb 2025 session; BSE's 2025 weekday holidays are taken to equal NSE's, which every secondary
source consulted agrees with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sarathi.common.domain.instruments import Exchange

BOTH: frozenset[Exchange] = frozenset({Exchange.NSE, Exchange.BSE})


class CalendarCoverageError(LookupError):
    """A date outside the years the holiday table (or the expiry rules) cover."""


@dataclass(frozen=True, slots=True)
class Holiday:
    """A weekday on which the equity-derivatives segment of the named exchanges does not trade."""

    day: date
    name: str
    source: str
    exchanges: frozenset[Exchange] = BOTH


@dataclass(frozen=True, slots=True)
class SpecialSession:
    """A Saturday or Sunday with the regular session on the named exchanges."""

    day: date
    name: str
    source: str
    exchanges: frozenset[Exchange] = BOTH


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """Holidays and special sessions for whole calendar years, indexed for lookup."""

    covered_years: frozenset[int]
    holidays: tuple[Holiday, ...]
    special_sessions: tuple[SpecialSession, ...] = ()
    _closed: frozenset[tuple[date, Exchange]] = field(init=False, repr=False, compare=False)
    _extra: frozenset[tuple[date, Exchange]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_rows(self.covered_years, self.holidays, weekend=False)
        check_rows(self.covered_years, self.special_sessions, weekend=True)
        object.__setattr__(self, "_closed", _index(self.holidays))
        object.__setattr__(self, "_extra", _index(self.special_sessions))

    def covers(self, day: date) -> bool:
        return day.year in self.covered_years

    def require_covered(self, day: date) -> None:
        """Raise `CalendarCoverageError` unless `day` falls in a covered year."""
        if not self.covers(day):
            years = ", ".join(str(y) for y in sorted(self.covered_years)) or "none"
            raise CalendarCoverageError(
                f"{day.isoformat()} is outside the holiday table (covered years: {years}); "
                "write that year's exchange circular to a CSV named by SARATHI_HOLIDAYS_FILE "
                "(docs/going-live.md, 'Before 1 January: next year's holidays')"
            )

    def is_holiday(self, day: date, exchange: Exchange) -> bool:
        self.require_covered(day)
        return (day, exchange) in self._closed

    def holiday_on(self, day: date, exchange: Exchange) -> Holiday | None:
        """The holiday of `exchange` on `day` (its name says why the market is shut), or None."""
        self.require_covered(day)
        return next((h for h in self.holidays if h.day == day and exchange in h.exchanges), None)

    def is_special_session(self, day: date, exchange: Exchange) -> bool:
        self.require_covered(day)
        return (day, exchange) in self._extra


def check_rows(years: frozenset[int], rows: Iterable[Holiday | SpecialSession], *, weekend: bool) -> None:
    """Refuse a row outside `years`, on the wrong kind of day (holidays on weekdays, sessions on
    weekends: `weekend`), or listed twice for an exchange (`ValueError`)."""
    seen: set[tuple[date, Exchange]] = set()
    for row in rows:
        if row.day.year not in years:
            raise ValueError(f"{row.day} lies outside the covered years {sorted(years)}")
        if (row.day.weekday() >= 5) is not weekend:
            kind = "special session" if weekend else "holiday"
            must = "a Saturday or Sunday" if weekend else "a weekday"
            raise ValueError(
                f"{row.day} ({row.name}) is a {row.day:%A}: "
                f"a {kind} on the wrong kind of day (must be {must})"
            )
        for exchange in row.exchanges:
            if (row.day, exchange) in seen:
                raise ValueError(f"{row.day} listed twice for {exchange}")
            seen.add((row.day, exchange))


def _index(rows: Iterable[Holiday | SpecialSession]) -> frozenset[tuple[date, Exchange]]:
    return frozenset((row.day, exchange) for row in rows for exchange in row.exchanges)


_NSE_2025 = "NSE/CMTR/65587 (13 Dec 2024); BSE 2025 list (notice number UNVERIFIED)"
_NSE_2026 = "NSE/CMTR/71775 (12 Dec 2025); BSE notice 20251212-8"
_ELECTION_2026 = "NSE/CMTR/72260; BSE notice 20260112-8 (12 Jan 2026)"

HOLIDAYS_2025: tuple[Holiday, ...] = (
    Holiday(date(2025, 2, 26), "Mahashivratri", _NSE_2025),
    Holiday(date(2025, 3, 14), "Holi", _NSE_2025),
    Holiday(date(2025, 3, 31), "Id-Ul-Fitr (Ramzan Id)", _NSE_2025),
    Holiday(date(2025, 4, 10), "Shri Mahavir Jayanti", _NSE_2025),
    Holiday(date(2025, 4, 14), "Dr. Baba Saheb Ambedkar Jayanti", _NSE_2025),
    Holiday(date(2025, 4, 18), "Good Friday", _NSE_2025),
    Holiday(date(2025, 5, 1), "Maharashtra Day", _NSE_2025),
    Holiday(date(2025, 8, 15), "Independence Day", _NSE_2025),
    Holiday(date(2025, 8, 27), "Ganesh Chaturthi", _NSE_2025),
    Holiday(date(2025, 10, 2), "Mahatma Gandhi Jayanti / Dussehra", _NSE_2025),
    # Muhurat trading 13:45–14:45 (NSE/CMTR/70319) on this holiday: not a regular session.
    Holiday(date(2025, 10, 21), "Diwali Laxmi Pujan", _NSE_2025),
    Holiday(date(2025, 10, 22), "Diwali Balipratipada", _NSE_2025),
    Holiday(date(2025, 11, 5), "Prakash Gurpurb Sri Guru Nanak Dev", _NSE_2025),
    Holiday(date(2025, 12, 25), "Christmas", _NSE_2025),
)

# Falling on weekends in 2026, so not listed: Mahashivratri (15 Feb), Id-Ul-Fitr (21 Mar),
# Independence Day (15 Aug), Diwali Laxmi Pujan (Sun 8 Nov, with a Muhurat session).
HOLIDAYS_2026: tuple[Holiday, ...] = (
    Holiday(date(2026, 1, 15), "Municipal corporation elections in Maharashtra", _ELECTION_2026),
    Holiday(date(2026, 1, 26), "Republic Day", _NSE_2026),
    Holiday(date(2026, 3, 3), "Holi", _NSE_2026),
    Holiday(date(2026, 3, 26), "Shri Ram Navami", _NSE_2026),
    Holiday(date(2026, 3, 31), "Shri Mahavir Jayanti", _NSE_2026),
    Holiday(date(2026, 4, 3), "Good Friday", _NSE_2026),
    Holiday(date(2026, 4, 14), "Dr. Baba Saheb Ambedkar Jayanti", _NSE_2026),
    Holiday(date(2026, 5, 1), "Maharashtra Day", _NSE_2026),
    Holiday(date(2026, 5, 28), "Bakri Id", _NSE_2026),
    # One secondary transcription reads 21 Jul; other transcriptions of the circular and the
    # press on the day (NDTV Profit, Economic Times) give 26 Jun.
    Holiday(date(2026, 6, 26), "Muharram", _NSE_2026),
    Holiday(date(2026, 9, 14), "Ganesh Chaturthi", _NSE_2026),
    Holiday(date(2026, 10, 2), "Mahatma Gandhi Jayanti", _NSE_2026),
    Holiday(date(2026, 10, 20), "Dussehra", _NSE_2026),
    Holiday(date(2026, 11, 10), "Diwali Balipratipada", _NSE_2026),
    Holiday(date(2026, 11, 24), "Prakash Gurpurb Sri Guru Nanak Dev", _NSE_2026),
    Holiday(date(2026, 12, 25), "Christmas", _NSE_2026),
)

SPECIAL_SESSIONS: tuple[SpecialSession, ...] = (
    SpecialSession(date(2025, 2, 1), "Union Budget (Saturday)", "NSE/CMTR/65729; BSE notice UNVERIFIED"),
    SpecialSession(date(2026, 2, 1), "Union Budget (Sunday)", "NSE/CMTR/72349; BSE notice of Jan 2026"),
)

NSE_BSE_HOLIDAYS = HolidayTable(
    covered_years=frozenset({2025, 2026}),
    holidays=HOLIDAYS_2025 + HOLIDAYS_2026,
    special_sessions=SPECIAL_SESSIONS,
)
"""The checked-in table for NSE and BSE equity derivatives, 2025–2026 (2027 not yet published)."""
