"""Which expiry to trade: the nearest listed one, with a setting for expiry days.

Expiries come from the data (the Derivative table synced from Dhan's master), never from
weekday rules: exchanges move single expiries by circular, and the master is the authority.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from enum import StrEnum

from sarathi.common.domain.calendar import IST, require_aware
from sarathi.common.domain.instruments import Underlying
from sarathi.execution.domain.outcome import Allowed, Gate, Outcome, Refused


class ExpiryDayPolicy(StrEnum):
    """What to do on the expiry day of the nearest expiry."""

    ROLL_AFTER_CUTOFF = "roll_after_cutoff"  # today's expiry until the cutoff, then the next one
    ALWAYS_NEXT = "always_next"  # never buy a contract on its expiry day
    SAME_DAY = "same_day"  # today's expiry all day


def choose_expiry(
    underlying: Underlying,
    expiries: Iterable[date],
    now: datetime,
    policy: ExpiryDayPolicy,
    cutoff: time,
) -> Outcome[date]:
    """The nearest expiry on or after today, rolled to the next one on an expiry day per `policy`."""
    local = require_aware(now).astimezone(IST)
    today = local.date()
    ahead = sorted({e for e in expiries if e >= today})
    if not ahead:
        return Refused(Gate.EXPIRY, f"no {underlying} expiry on or after {today} in the Derivative table")
    nearest = ahead[0]
    rolls = nearest == today and (
        policy is ExpiryDayPolicy.ALWAYS_NEXT
        or (policy is ExpiryDayPolicy.ROLL_AFTER_CUTOFF and local.time() >= cutoff)
    )
    if not rolls:
        return Allowed(nearest)
    if len(ahead) < 2:
        return Refused(Gate.EXPIRY, f"{underlying} expires today and no later expiry is listed to roll to")
    return Allowed(ahead[1])
