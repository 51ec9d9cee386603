"""The per-position rules: trailing profit lock, square-off, stale prices (ARCHITECTURE §6).

`assess` is one check of one position at market time `now` with its latest price:

1. only an OPEN position is decided on (a CLOSING one has its exit in flight: never a second);
2. at or after the square-off time → exit SQUARE_OFF, whatever the price;
3. no tick for `stale_exit_after_seconds` (counted from the open if none ever came) → exit
   STALE_PRICE at market, i.e. on the broker's own price; no tick for `stale_after_seconds` →
   flagged stale and nothing is decided (the trail does not move on an old price);
4. `pnl ≥ min_profit_lock` arms the trail; from then on the high-water mark follows the best pnl;
5. armed and `pnl ≤ hwm × (1 − giveback)` → exit TRAILING.

All arithmetic is Decimal; `decide_exit` is the rule as a function of its inputs only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.trading import ExitReason
from sarathi.risk.domain.position import Ltp, Status, TrackedPosition
from sarathi.risk.domain.rules import RiskRules

PnlOf = Callable[[TrackedPosition, Decimal], Decimal]
"""The P&L the trail follows for a position at a price (gross by default)."""


def gross(position: TrackedPosition, price: Decimal) -> Decimal:
    return position.gross_pnl(price)


@dataclass(frozen=True, slots=True)
class ExitDecision:
    reason: ExitReason
    pnl: Decimal | None
    hwm: Decimal | None
    detail: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """One check: the position with its trail moved, what was seen, and the exit if any."""

    position: TrackedPosition
    pnl: Decimal | None  # on the trail's basis; None without a fresh price
    armed_now: bool
    price_age_seconds: float  # since the last tick (since the open when none came)
    stale: bool
    exit: ExitDecision | None


def square_off_due(now: datetime, rules: RiskRules) -> bool:
    return now.astimezone(IST).time() >= rules.square_off


def price_age_seconds(position: TrackedPosition, ltp: Ltp | None, now: datetime) -> float:
    """Seconds without a fresh price for this position; a tick from before it opened does not age it."""
    since = position.opened_at if ltp is None else max(ltp.at, position.opened_at)
    return max(0.0, (now - since).total_seconds())


def follow_trail(position: TrackedPosition, pnl: Decimal, rules: RiskRules) -> TrackedPosition:
    """Arm at the lock, then raise the high-water mark to the best pnl; never lower it."""
    if position.hwm is not None:
        return position if pnl <= position.hwm else replace(position, hwm=pnl)
    if pnl >= rules.min_profit_lock:
        return replace(position, trail_armed=True, hwm=pnl)
    return position


def trail_breached(position: TrackedPosition, pnl: Decimal, rules: RiskRules) -> bool:
    return position.hwm is not None and pnl <= position.hwm * rules.keep_ratio


def assess(
    position: TrackedPosition, ltp: Ltp | None, rules: RiskRules, now: datetime, pnl_of: PnlOf = gross
) -> Assessment:
    age = price_age_seconds(position, ltp, now)
    stale = ltp is None or age >= rules.stale_after_seconds
    pnl = None if ltp is None or stale else pnl_of(position, ltp.price)

    def done(
        exit_: ExitDecision | None, moved: TrackedPosition = position, armed_now: bool = False
    ) -> Assessment:
        return Assessment(moved, pnl, armed_now, age, stale, exit_)

    if position.status is not Status.OPEN:
        return done(None)
    if square_off_due(now, rules):
        return done(
            ExitDecision(ExitReason.SQUARE_OFF, pnl, position.hwm, f"square-off at {rules.square_off}")
        )
    if age >= rules.stale_exit_after_seconds:
        detail = f"no tick for {age:.0f}s: exit at market"
        return done(ExitDecision(ExitReason.STALE_PRICE, None, position.hwm, detail))
    if pnl is None:
        return done(None)
    moved = follow_trail(position, pnl, rules)
    armed_now = moved.trail_armed and not position.trail_armed
    if trail_breached(moved, pnl, rules):
        detail = f"pnl {pnl} ≤ {moved.hwm} × {rules.keep_ratio}"
        return done(ExitDecision(ExitReason.TRAILING, pnl, moved.hwm, detail), moved, armed_now)
    return done(None, moved, armed_now)


def decide_exit(
    position: TrackedPosition, ltp: Ltp | None, rules: RiskRules, now: datetime, pnl_of: PnlOf = gross
) -> ExitDecision | None:
    """The exit this check calls for, if any (see the module docstring for the order of rules)."""
    return assess(position, ltp, rules, now, pnl_of).exit
