"""Our entries between the broker's acceptance and their end, by contract (no I/O).

Risk holds a contract's ticks from the moment the broker accepts an entry in it, so the price at
the fill is known (and recorded by the feed). `entry_step` reads an order event as a step of one
of our entries (leg ENTRY, side BUY; a pyramid is an entry too); `PendingEntries` remembers which
accepted entries have not ended yet, so a contract is released only when none waits.
"""

from __future__ import annotations

from enum import Enum

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import Leg, Side
from sarathi.common.messages.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
)


class EntryStep(Enum):
    ACCEPTED = "accepted"  # at the broker, may fill: hold the contract
    ENDED_UNFILLED = "ended_unfilled"  # rejected, or cancelled before any fill
    ENDED_FILLED = "ended_filled"  # filled in full, or cancelled after a part filled


def contract_of(event: OrderEvent) -> ContractKey:
    return ContractKey(event.segment, str(event.security_id))


def entry_step(event: OrderEvent) -> EntryStep | None:
    """What `event` means for one of our entries; None for any other order or event (legs, exits,
    a partial fill, an unknown outcome: the entry is still working or was never ours)."""
    if event.leg is not Leg.ENTRY or event.side is not Side.BUY:
        return None
    if isinstance(event, OrderAccepted):
        return EntryStep.ACCEPTED
    if isinstance(event, OrderRejected):
        return EntryStep.ENDED_UNFILLED
    if isinstance(event, OrderCancelled):
        return EntryStep.ENDED_FILLED if event.filled_quantity > 0 else EntryStep.ENDED_UNFILLED
    if isinstance(event, OrderFilled) and event.cumulative_quantity >= event.order_quantity:
        return EntryStep.ENDED_FILLED
    return None


class PendingEntries:
    """Accepted entries not yet ended, by their client order id (in memory: lost on restart)."""

    def __init__(self) -> None:
        self._contract_of: dict[str, ContractKey] = {}

    def __len__(self) -> int:
        return len(self._contract_of)

    def accepted(self, order_id: str, contract: ContractKey) -> None:
        self._contract_of[order_id] = contract

    def ended(self, order_id: str) -> ContractKey | None:
        """Forget `order_id`; its contract if it was pending."""
        return self._contract_of.pop(order_id, None)

    def waiting(self, contract: ContractKey) -> bool:
        """Whether an accepted entry in `contract` has not ended yet."""
        return contract in self._contract_of.values()
