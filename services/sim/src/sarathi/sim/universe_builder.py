"""Build the simulated day's `Universe`: the three index rows and their option contracts.

For each underlying: the IDX_I row (ids 13/25/51) and CE/PE contracts for the next few expiries
the market calendar gives (NIFTY weekly Tuesdays with the monthly, BANKNIFTY monthly only,
SENSEX weekly Thursdays; REFERENCE §10.2), strikes ±N steps around a reference level.
Symbols and display names follow the live master rows of REFERENCE §9.4.

Security ids are a pure function of (underlying, expiry, strike, side) so that the same
settings give the same ids every run and a contract keeps its id whatever the strike window:

    id = u·10⁸ + (expiry − 2025-01-01 in days)·10⁴ + 2·(strike ÷ step) + side

with u = 1 NIFTY, 2 BANKNIFTY, 3 SENSEX and side 0 CE, 1 PE. The largest id (≈3.3·10⁸) fits the
int32 security id of the binary feed header. Real Dhan ids are exchange tokens (5–7 digits); ours
are longer, which no client may rely on either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sarathi.common.domain.calendar import CalendarCoverageError, Expiry, MarketCalendar
from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying
from sarathi.common.domain.money import OPTION_TICK
from sarathi.sim.instruments import SimInstrument, Universe

DEFAULT_REFERENCE_LEVELS: Mapping[Underlying, Decimal] = {
    Underlying.NIFTY: Decimal(24000),
    Underlying.BANKNIFTY: Decimal(52000),
    Underlying.SENSEX: Decimal(80000),
}
DEFAULT_EXPIRY_COUNTS: Mapping[Underlying, int] = {
    Underlying.NIFTY: 4,
    Underlying.BANKNIFTY: 3,
    Underlying.SENSEX: 4,
}
LOT_SIZES: Mapping[Underlying, int] = {Underlying.NIFTY: 65, Underlying.BANKNIFTY: 30, Underlying.SENSEX: 20}
# SM_FREEZE_QTY of the 2026 detailed master (REFERENCE §10.5; semantics UNVERIFIED).
FREEZE_QTYS: Mapping[Underlying, int] = {
    Underlying.NIFTY: 1756,
    Underlying.BANKNIFTY: 600,
    Underlying.SENSEX: 1000,
}
INDEX_DISPLAY_NAMES: Mapping[Underlying, str] = {
    Underlying.NIFTY: "Nifty 50",
    Underlying.BANKNIFTY: "Nifty Bank",
    Underlying.SENSEX: "SENSEX",
}
_UNDERLYING_CODES: Mapping[Underlying, int] = {
    Underlying.NIFTY: 1,
    Underlying.BANKNIFTY: 2,
    Underlying.SENSEX: 3,
}
_ID_EPOCH = date(2025, 1, 1)
_MAX_DAYS = 10_000
_MAX_STRIKE_STEPS = 5_000
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True, slots=True)
class UniverseParams:
    """What to list: which underlyings, how many expiries and strikes, around which levels."""

    underlyings: tuple[Underlying, ...] = tuple(Underlying)
    reference_levels: Mapping[Underlying, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_REFERENCE_LEVELS)
    )
    strikes_each_side: int = 20
    expiry_counts: Mapping[Underlying, int] = field(default_factory=lambda: dict(DEFAULT_EXPIRY_COUNTS))

    def __post_init__(self) -> None:
        if self.strikes_each_side < 0:
            raise ValueError("strikes_each_side must not be negative")
        for underlying in self.underlyings:
            if self.reference_levels.get(underlying, Decimal(0)) <= 0:
                raise ValueError(f"a positive reference level is needed for {underlying}")


def option_security_id(underlying: Underlying, expiry: date, strike: Decimal, option_type: OptionType) -> str:
    """The deterministic security id of a contract (see the module docstring)."""
    days = (expiry - _ID_EPOCH).days
    steps = strike / underlying.spec.strike_step
    if not 0 <= days < _MAX_DAYS:
        raise ValueError(f"expiry {expiry} outside the id scheme's range")
    if steps != steps.to_integral_value() or not 0 < steps < _MAX_STRIKE_STEPS:
        raise ValueError(f"strike {strike} is not a listable {underlying} strike")
    side = 0 if option_type is OptionType.CALL else 1
    return str(_UNDERLYING_CODES[underlying] * 10**8 + days * 10**4 + 2 * int(steps) + side)


def trading_symbol(underlying: Underlying, expiry: date, strike: Decimal, option_type: OptionType) -> str:
    """Dhan's compact trading symbol, e.g. `NIFTY-Sep2026-24000-CE`."""
    month = _MONTHS[expiry.month - 1].title()  # not strftime: %b depends on the locale
    return f"{underlying.spec.name}-{month}{expiry.year}-{_strike_text(strike)}-{option_type.value}"


def display_name(underlying: Underlying, expiry: date, strike: Decimal, option_type: OptionType) -> str:
    """Dhan's display name, e.g. `NIFTY 15 SEP 24000 CALL`."""
    month = _MONTHS[expiry.month - 1]
    return f"{underlying.spec.name} {expiry.day:02d} {month} {_strike_text(strike)} {option_type.dhan_name}"


def _strike_text(strike: Decimal) -> str:
    return str(strike.quantize(Decimal(1))) if strike == strike.to_integral_value() else str(strike)


def upcoming_expiries(
    calendar: MarketCalendar, underlying: Underlying, trading_day: date, count: int
) -> list[Expiry]:
    """The first `count` expiries on or after `trading_day`, as far as the calendar covers."""
    found: list[Expiry] = []
    month_start = trading_day
    while len(found) < count:
        month_end = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        try:
            found.extend(calendar.expiries(underlying, month_start, month_end))
        except CalendarCoverageError:
            break  # the holiday table ends: list what it covers
        month_start = month_end + timedelta(days=1)
    return found[:count]


def index_instrument(underlying: Underlying) -> SimInstrument:
    spec = underlying.spec
    return SimInstrument(
        security_id=spec.security_id,
        segment=ExchangeSegment.IDX_I,
        underlying=underlying,
        symbol=spec.name,
        display_name=INDEX_DISPLAY_NAMES[underlying],
        lot_size=1,
        tick_size=OPTION_TICK,
    )


def _atm_strike(level: Decimal, step: Decimal) -> Decimal:
    return (level / step).to_integral_value() * step


def build_universe(
    trading_day: date, calendar: MarketCalendar, params: UniverseParams | None = None
) -> Universe:
    """Every index row and option contract listed on `trading_day`."""
    params = params or UniverseParams()
    rows: list[SimInstrument] = []
    for underlying in params.underlyings:
        rows.append(index_instrument(underlying))
        spec = underlying.spec
        atm = _atm_strike(params.reference_levels[underlying], spec.strike_step)
        offsets = range(-params.strikes_each_side, params.strikes_each_side + 1)
        strikes = [atm + k * spec.strike_step for k in offsets if atm + k * spec.strike_step > 0]
        count = params.expiry_counts.get(underlying, DEFAULT_EXPIRY_COUNTS[underlying])
        for expiry in upcoming_expiries(calendar, underlying, trading_day, count):
            for strike in strikes:
                for option_type in (OptionType.CALL, OptionType.PUT):
                    rows.append(option_instrument(underlying, expiry, strike, option_type))
    return Universe(rows)


def option_instrument(
    underlying: Underlying, expiry: Expiry, strike: Decimal, option_type: OptionType
) -> SimInstrument:
    """The contract's row (also for contracts of past days, which no universe lists)."""
    return SimInstrument(
        security_id=option_security_id(underlying, expiry.day, strike, option_type),
        segment=underlying.spec.fno_segment,
        underlying=underlying,
        symbol=trading_symbol(underlying, expiry.day, strike, option_type),
        display_name=display_name(underlying, expiry.day, strike, option_type),
        lot_size=LOT_SIZES[underlying],
        tick_size=OPTION_TICK,
        expiry=expiry.day,
        strike=strike,
        option_type=option_type,
        weekly=not expiry.is_monthly,
        freeze_qty=FREEZE_QTYS[underlying],
    )
