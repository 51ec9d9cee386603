"""Reconciliation: what differs between our books and the broker's (pure diff, no I/O).

The corrections themselves are the broker's reports applied through the order state machine
(idempotent: what we already hold changes nothing). This module says what was different —
for the drift metric, the log, and what cannot be corrected from the broker's reports:

- `new_at_broker`: broker orders we have no record of (placed while we were down, or by hand);
- `changed`: broker orders whose status or filled quantity differs from ours;
- `missing_at_broker`: our open orders the broker no longer lists (kept, reported);
- `position_mismatches`: contracts whose broker net quantity differs from our fills' net.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import OrderStatus
from sarathi.orders.domain.model import OPEN_STATUSES, BrokerOrder, BrokerPosition


@dataclass(frozen=True, slots=True)
class OurOrder:
    broker_order_id: str
    status: OrderStatus
    filled: int


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    contract: ContractKey
    ours: int
    broker: int


@dataclass(frozen=True, slots=True)
class Drift:
    new_at_broker: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    missing_at_broker: tuple[str, ...] = ()
    position_mismatches: tuple[PositionMismatch, ...] = ()

    @property
    def size(self) -> int:
        return (
            len(self.new_at_broker)
            + len(self.changed)
            + len(self.missing_at_broker)
            + len(self.position_mismatches)
        )


def diff_orders(ours: Iterable[OurOrder], broker: Iterable[BrokerOrder]) -> Drift:
    mine = {order.broker_order_id: order for order in ours}
    theirs = {order.broker_order_id: order for order in broker}
    new = tuple(sorted(set(theirs) - set(mine)))
    changed = tuple(
        sorted(
            oid
            for oid, report in theirs.items()
            if oid in mine
            and (
                report.filled_quantity != mine[oid].filled
                or (report.status is not None and report.status is not mine[oid].status)
            )
        )
    )
    missing = tuple(
        sorted(oid for oid, order in mine.items() if oid not in theirs and order.status in OPEN_STATUSES)
    )
    return Drift(new_at_broker=new, changed=changed, missing_at_broker=missing)


def broker_nets(positions: Iterable[BrokerPosition]) -> dict[ContractKey, int]:
    """The broker's net quantity per contract, all products together."""
    nets: dict[ContractKey, int] = {}
    for position in positions:
        nets[position.contract] = nets.get(position.contract, 0) + position.net_quantity
    return nets


def diff_positions(
    ours: Mapping[ContractKey, int], broker: Iterable[BrokerPosition]
) -> tuple[PositionMismatch, ...]:
    theirs = broker_nets(broker)
    contracts = sorted(set(ours) | set(theirs), key=lambda c: (c.segment.wire, c.security_id))
    return tuple(
        PositionMismatch(contract, ours.get(contract, 0), theirs.get(contract, 0))
        for contract in contracts
        if ours.get(contract, 0) != theirs.get(contract, 0)
    )
