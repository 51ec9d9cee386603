"""What today's open positions and pending entries could still lose at their stops.

Risk's loss budget (`limit + today's net P&L`) counts an open position at its last price; if its
stop-loss leg fills, it loses a further `(price − stop fill) × quantity`, and an entry not yet
filled is not in risk's figure at all. A new entry may only use what is left after both, so that
everything stopping out together still stays within the daily loss limit:

    budget for a new entry = risk's remaining − Σ held (mark − stop fill) × units − Σ pending planned loss

Held units are matched to the lowest known stops first (the largest loss); units whose stop is
unknown (an entry from before this bound, or not placed by execution) count as losing their whole
price. A held contract without a current price refuses the entry: its risk cannot be bounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sarathi.common.domain.money import to_paise_precision
from sarathi.execution.domain.book import HeldPosition, PositionBook, StopLevel
from sarathi.execution.domain.outcome import Allowed, Gate, Outcome, Refused

ZERO = Decimal(0)


def held_risk(position: HeldPosition, stops: Sequence[StopLevel], mark: Decimal) -> Decimal:
    """What `position` loses from `mark` if its stops fill (lowest stops first; no stop: all of it)."""
    units = position.net_quantity
    risk = ZERO
    for level in sorted(stops, key=lambda s: s.stop_fill):
        if units <= 0:
            break
        quantity = min(level.quantity, units)
        risk += max(mark - level.stop_fill, ZERO) * quantity
        units -= quantity
    return risk + mark * max(units, 0)


def pending_risk(book: PositionBook) -> Decimal:
    """Planned losses at the stop of entries not filled yet (their whole cost when unknown)."""
    return sum(
        (e.loss_at_stop if e.loss_at_stop is not None else e.cost for e in book.pending.values()), ZERO
    )


@dataclass(frozen=True, slots=True)
class EntryBudget:
    left: Decimal  # what the new entry may lose at its stop (> 0)
    held_risk: Decimal
    pending_risk: Decimal

    def details(self) -> dict[str, str]:
        return {"open_risk": str(self.held_risk), "pending_risk": str(self.pending_risk),
                "budget_for_entry": str(self.left)}  # fmt: skip


def budget_for_entry(
    budget_left: Decimal, book: PositionBook, marks: Mapping[str, Decimal]
) -> Outcome[EntryBudget]:
    """What a new entry may lose at its stop: risk's remaining less the open risk (≥ 0), or why not."""
    held = ZERO
    for position in book.positions.values():
        mark = marks.get(position.security_id)
        if mark is None:
            return Refused(
                Gate.LOSS_BUDGET,
                f"no current price for open position {position.security_id}: its loss at the stop is unknown",
            )
        held += held_risk(position, book.stops.get(position.security_id, ()), mark)
    held, pending = to_paise_precision(held), to_paise_precision(pending_risk(book))
    budget = EntryBudget(budget_left - held - pending, held, pending)
    if budget.left <= 0:
        return Refused(
            Gate.LOSS_BUDGET,
            f"open positions (₹{held}) and pending entries (₹{pending}) could lose all of the "
            f"₹{budget_left} of daily loss budget left at their stops",
            budget.details(),
        )
    return Allowed(budget)
