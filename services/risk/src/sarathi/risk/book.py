"""The trackers risk holds in memory and how position events change them (no I/O here).

At most one tracker per contract is open (the broker nets a contract). A position event for a
contract is matched to its open tracker; a `PositionChanged` without one adopts the position (it
was opened before risk listened, or by hand at the broker); a `PositionClosed` without one is a
repeat and changes nothing. The entry order id of a tracker is the command that opened it (the
event's causation id) — or, for an order placed outside Sarathi, the opening event's own id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.pnl import TradeFill
from sarathi.common.domain.trading import Side
from sarathi.common.logging import get_logger
from sarathi.common.messages.orders import PositionChanged, PositionClosed, PositionEvent, PositionOpened
from sarathi.risk.domain import position as rules
from sarathi.risk.domain.daily import counts_today
from sarathi.risk.domain.position import TrackedPosition

log = get_logger(__name__)
EXTERNAL_CAUSATION = "external"  # orders' command id for orders placed outside Sarathi


@dataclass(frozen=True, slots=True)
class BookChange:
    position: TrackedPosition
    opened: bool = False  # a contract became held: subscribe its ticks
    closed: bool = False  # a contract became flat: release its ticks


def fill_of(event: PositionEvent, position: TrackedPosition | None) -> rules.BookedFill | None:
    """The fill `event` names, or (from an older publisher) the one its change implies."""
    if event.fill is not None:
        f = event.fill
        return rules.booked(f.order_key, f.cumulative_quantity, Side(f.side.value), f.quantity, f.price)
    return rules.derived_fill(
        event.message_id,
        position,
        net_quantity=event.net_quantity,
        average_price=event.average_price,
        contract_realized=event.realized_pnl,
    )


def entry_order_id_of(event: PositionEvent) -> str:
    cause = event.causation_id
    return cause if cause and cause != EXTERNAL_CAUSATION else event.message_id


class PositionBook:
    def __init__(self, positions: Iterable[TrackedPosition] = ()) -> None:
        self._by_entry: dict[str, TrackedPosition] = {}
        self._open: dict[ContractKey, str] = {}
        for position in positions:
            self.put(position)

    def all(self) -> list[TrackedPosition]:
        return list(self._by_entry.values())

    def open_positions(self) -> list[TrackedPosition]:
        return [self._by_entry[entry] for entry in self._open.values()]

    def get(self, entry_order_id: str) -> TrackedPosition | None:
        return self._by_entry.get(entry_order_id)

    def open_for(self, contract: ContractKey) -> TrackedPosition | None:
        entry = self._open.get(contract)
        return None if entry is None else self._by_entry[entry]

    def has_fill_of(self, order_key: str) -> bool:
        """Whether a tracker booked a fill of the order `order_key` (its position events came first)."""
        return any(b.fill.order_id == order_key for p in self._by_entry.values() for b in p.fills)

    def put(self, position: TrackedPosition) -> None:
        self._by_entry[position.entry_order_id] = position
        if position.is_open:
            self._open[position.contract] = position.entry_order_id
        elif self._open.get(position.contract) == position.entry_order_id:
            del self._open[position.contract]

    def forget_closed_before(self, day: date) -> None:
        """Drop trackers closed before `day` (a service running across midnight)."""
        for entry, position in list(self._by_entry.items()):
            if not counts_today(position, day):
                del self._by_entry[entry]

    def apply(self, event: PositionEvent) -> BookChange | None:
        """The tracker after `event`, or None when the event changes nothing."""
        contract = ContractKey(event.segment, str(event.security_id))
        current = self.open_for(contract)
        fill = fill_of(event, current)
        if current is not None and event.fill is not None and current.has(fill):
            return None  # a repeat, perhaps after later events: its facts are old
        if isinstance(event, PositionClosed):
            if current is None:
                return None
            after = rules.closed(
                current,
                contract_realized=event.realized_pnl,
                fill=fill,
                reason=event.exit_reason,
                at=event.event_time,
            )
            return self._changed(current, after, closed=True)
        if current is None:
            return self._open_new(event, contract)
        after = rules.changed(
            current,
            net_quantity=event.net_quantity,
            average_price=event.average_price,
            contract_realized=event.realized_pnl,
            fill=fill,
        )
        return self._changed(current, after)

    def _open_new(self, event: PositionOpened | PositionChanged, contract: ContractKey) -> BookChange | None:
        entry = entry_order_id_of(event)
        known = self._by_entry.get(entry)
        if known is not None:  # a repeat of the event that opened a position since closed
            log.info("position_event_repeat", entry_order_id=entry, status=known.status.value)
            return None
        fill = fill_of(event, None)
        if isinstance(event, PositionChanged) or fill is None or fill.fill.quantity != event.net_quantity:
            # adopted (opened before risk listened, or by hand): what it holds is all we know
            log.warning("position_adopted", security_id=contract.security_id, entry_order_id=entry)
            key = f"adopted-{event.message_id}"
            fill = rules.BookedFill(key, TradeFill(key, Side.BUY, event.net_quantity, event.average_price))
        position = rules.opened(
            entry_order_id=entry,
            security_id=contract.security_id,
            segment=contract.segment,
            underlying=event.underlying,
            net_quantity=event.net_quantity,
            average_price=event.average_price,
            at=event.event_time,
            correlation_id=event.correlation_id,
            contract_realized=event.realized_pnl,
            fill=fill,
        )
        self.put(position)
        return BookChange(position, opened=True)

    def _changed(
        self, before: TrackedPosition, after: TrackedPosition, *, closed: bool = False
    ) -> BookChange | None:
        if after == before:
            return None
        self.put(after)
        return BookChange(after, closed=closed)
