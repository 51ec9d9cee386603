"""The profit value of Dhan's P&L-based exit, which we arm only as a loss backstop.

Dhan exits every position at once when `profitValue` is at or below the day's current profit
(REFERENCE §4.6); nothing documents a value meaning "no profit exit" (0 included). So we send a
ceiling the day cannot reach: at least `floor_inr`, and at least `headroom` × the day's profit
now (realised + unrealised, as the broker reports it). Once the day's profit comes within
1 / `headroom` of the armed value, the rule is armed again with a higher one. Whether Dhan caps
`profitValue` is UNVERIFIED; the default floor (₹1 crore) is far beyond any day of this robot.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

ONE_RUPEE = Decimal(1)


def profit_value(day_profit: Decimal, *, floor_inr: Decimal, headroom: Decimal) -> Decimal:
    """A whole-rupee profit value the day's profit `day_profit` is far from reaching."""
    wanted = max(day_profit, Decimal(0)) * headroom
    return max(floor_inr, wanted).quantize(ONE_RUPEE, rounding=ROUND_CEILING)


def needs_rearming(day_profit: Decimal, armed: Decimal, *, headroom: Decimal) -> bool:
    """True once the day's profit has come within 1 / `headroom` of the armed profit value."""
    return day_profit * headroom > armed
