"""Today's P&L over every position and the daily loss limit (net of charges).

A position counts today while it is open, or when it closed today (IST). The limit is breached
when today's net P&L — realized plus open positions valued at their latest price, less charges —
is at or below minus the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import ContractKey
from sarathi.risk.domain.pnl import NO_PNL, Pnl, position_pnl
from sarathi.risk.domain.position import TrackedPosition
from sarathi.risk.domain.rules import RiskRules


@dataclass(frozen=True, slots=True)
class DayPnl:
    day: date
    pnl: Pnl
    open_positions: int
    closed_positions: int


def counts_today(position: TrackedPosition, day: date) -> bool:
    if position.is_open:
        return True
    return position.closed_at is not None and position.closed_at.astimezone(IST).date() == day


def day_pnl(
    positions: Iterable[TrackedPosition],
    ltps: Mapping[ContractKey, Decimal],
    calculator: ChargesCalculator,
    day: date,
) -> DayPnl:
    total, open_count, closed_count = NO_PNL, 0, 0
    for position in positions:
        if not counts_today(position, day):
            continue
        total = total + position_pnl(position, ltps.get(position.contract), calculator, day)
        open_count += position.is_open
        closed_count += not position.is_open
    return DayPnl(day, total, open_count, closed_count)


def loss_limit_breached(pnl: Pnl, rules: RiskRules) -> bool:
    """Net P&L at or below minus the daily loss limit."""
    return pnl.net <= -rules.daily_loss_limit
