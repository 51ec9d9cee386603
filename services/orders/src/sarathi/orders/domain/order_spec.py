"""An order as we first record it: what we send, or what the broker reports of an order we hold no row of.

One type (and one mapping to the row, `adapters.tables.order_values`) for every way an order row
is born: a submit's entry, an exit's sell (and each slice of it), a super order's target and
stop-loss legs, a duplicate, an order placed outside Sarathi. Nothing has a default the others
lack: the product in particular is always the one the broker is sent (`Broker.product_type`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import EntryOrderType, Leg, OrderStatus, Side
from sarathi.common.messages.orders import SubmitEntry
from sarathi.orders.domain.model import BrokerOrder

MARKET = "MARKET"  # Dhan's orderType of our exit sells (and what we assume of an order we did not place)


@dataclass(frozen=True, slots=True)
class OrderSpec:
    client_order_id: str  # our key: the command id (or `ids.order_key`, `ids.duplicate_key`, ...)
    command_id: str
    contract: ContractKey
    side: Side
    product: str  # Dhan's productType, as sent
    order_type: str  # Dhan's orderType
    quantity: int
    leg: Leg | None  # None for an order placed outside Sarathi
    status: OrderStatus = OrderStatus.TRANSIT
    broker_order_id: str | None = None
    correlation_id: str | None = None
    underlying: str | None = None
    exit_reason: str | None = None
    parent_order_id: int | None = None
    price: Decimal | None = None
    target_price: Decimal | None = None
    stop_loss_price: Decimal | None = None


def entry_spec(command: SubmitEntry, product: str) -> OrderSpec:
    """The entry of a super order as `DhanBroker.place_entry` sends it."""
    return OrderSpec(
        client_order_id=command.command_id,
        command_id=command.command_id,
        contract=ContractKey(command.contract.segment, command.contract.security_id),
        side=Side.BUY,
        product=product,
        order_type=command.order_type.value,
        quantity=command.quantity,
        leg=Leg.ENTRY,
        correlation_id=command.correlation_id,
        underlying=command.underlying.value,
        price=command.entry_price if command.order_type is EntryOrderType.LIMIT else None,
        target_price=command.target_price,
        stop_loss_price=command.stop_loss_price,
    )


def exit_spec(
    command_id: str,
    contract: ContractKey,
    *,
    product: str,
    underlying: str | None,
    reason: str,
    correlation_id: str,
    quantity: int = 1,
) -> OrderSpec:
    """The market sell of an exit placed under `command_id` (its quantity set once planned)."""
    return OrderSpec(
        client_order_id=command_id,
        command_id=command_id,
        contract=contract,
        side=Side.SELL,
        product=product,
        order_type=MARKET,
        quantity=quantity,
        leg=Leg.EXIT,
        correlation_id=correlation_id,
        underlying=underlying,
        exit_reason=reason,
    )


def reported_spec(
    report: BrokerOrder,
    *,
    client_order_id: str,
    command_id: str,
    product: str,
    leg: Leg | None,
    correlation_id: str | None = None,
    underlying: str | None = None,
    exit_reason: str | None = None,
    parent_order_id: int | None = None,
) -> OrderSpec:
    """The row of an order first seen in a broker report (a leg, an adopted or duplicate order, an
    outside one); its status and fills are then applied from the report."""
    return OrderSpec(
        client_order_id=client_order_id,
        command_id=command_id,
        contract=report.contract,
        side=report.side,
        product=product,
        order_type=MARKET,
        quantity=max(report.quantity, 1),
        leg=leg,
        broker_order_id=report.broker_order_id,
        correlation_id=correlation_id,
        underlying=underlying,
        exit_reason=exit_reason,
        parent_order_id=parent_order_id,
    )
