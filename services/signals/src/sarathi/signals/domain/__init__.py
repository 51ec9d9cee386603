"""The pure domain of the signals service: bars from ticks, indicators, the trend decision.

Nothing here touches NATS, HTTP, a database or the wall clock: time comes in as arguments
(market time from the caller's Clock), prices as `Decimal`.
"""

from sarathi.signals.domain.bars import BarBuilder, BarStats, ClosedBar, SessionGrid, TickOutcome, roll_up
from sarathi.signals.domain.decision import (
    TrendDecision,
    TrendSettings,
    decide,
    decide_each,
    warming_up,
)

__all__ = [
    "BarBuilder",
    "BarStats",
    "ClosedBar",
    "SessionGrid",
    "TickOutcome",
    "TrendDecision",
    "TrendSettings",
    "decide",
    "decide_each",
    "roll_up",
    "warming_up",
]
