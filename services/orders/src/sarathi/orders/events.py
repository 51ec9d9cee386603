"""Building the order and position events, with deterministic message ids (`domain.ids`).

Every event names our command id (`client_order_id`, Dhan's correlationId), the trade's bus
correlation id and, as causation, the command that caused it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sarathi.common.bus import subjects
from sarathi.common.domain.instruments import BrokerOrderId, ClientOrderId, SecurityId, Underlying
from sarathi.common.domain.money import OPTION_TICK, Rounding, round_to_tick
from sarathi.common.domain.trading import ExitReason, Leg, OrderStatus
from sarathi.common.messages.base import Message
from sarathi.common.messages.orders import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStateUnknown,
    PositionChanged,
    PositionClosed,
    PositionFill,
    PositionOpened,
)
from sarathi.orders.adapters.tables import OrderRow
from sarathi.orders.domain import ids
from sarathi.orders.domain.order_state import Fill
from sarathi.orders.domain.position import PositionChange, PositionState

Event = tuple[str, Message]
"""(subject, message)."""


def _text(value: str | None, default: str) -> str:
    return (value or default).strip()[:500] or default


def _envelope(message_id: str, row: OrderRow, now: datetime) -> dict[str, object]:
    return {
        "message_id": message_id,
        "correlation_id": row.correlation_id or row.command_id,
        "causation_id": row.command_id,
        "event_time": now,
    }


def _common(row: OrderRow) -> dict[str, object]:
    return {
        "client_order_id": ClientOrderId(row.command_id),
        "security_id": SecurityId(row.contract.security_id),
        "segment": row.contract.segment,
        "side": row.side,
        "leg": row.leg or Leg.EXIT,
    }


def accepted(row: OrderRow, now: datetime) -> Event:
    assert row.broker_order_id is not None
    message = OrderAccepted(
        **_envelope(ids.accepted_event_id(row.client_order_id), row, now),
        **_common(row),
        broker_order_id=BrokerOrderId(row.broker_order_id),
        status=row.status
        if row.status in (OrderStatus.TRANSIT, OrderStatus.PENDING)
        else OrderStatus.PENDING,
        quantity=row.quantity,
        price=row.price,
    )
    return subjects.order_event(message.type), message


def rejected(row: OrderRow, *, code: str | None, reason: str | None, now: datetime) -> Event:
    message = OrderRejected(
        **_envelope(ids.rejected_event_id(row.client_order_id), row, now),
        **_common(row),
        broker_order_id=BrokerOrderId(row.broker_order_id) if row.broker_order_id else None,
        quantity=row.quantity,
        error_code=code,
        error_message=_text(reason, "rejected by the broker"),
    )
    return subjects.order_event(message.type), message


def filled(row: OrderRow, fill: Fill, order_quantity: int, now: datetime) -> Event:
    assert row.broker_order_id is not None
    message = OrderFilled(
        **_envelope(ids.fill_event_id(row.broker_order_id, fill.cumulative), row, now),
        **_common(row),
        broker_order_id=BrokerOrderId(row.broker_order_id),
        trade_id=fill.key[:64],
        fill_quantity=fill.quantity,
        fill_price=round_to_tick(fill.price, OPTION_TICK, Rounding.NEAREST),
        cumulative_quantity=fill.cumulative,
        order_quantity=max(order_quantity, fill.cumulative),
        exchange_time=fill.at,
    )
    return subjects.order_event(message.type), message


def cancelled(
    row: OrderRow, *, filled_quantity: int, quantity: int, reason: str | None, now: datetime
) -> Event:
    assert row.broker_order_id is not None
    message = OrderCancelled(
        **_envelope(ids.cancelled_event_id(row.broker_order_id), row, now),
        **_common(row),
        broker_order_id=BrokerOrderId(row.broker_order_id),
        filled_quantity=filled_quantity,
        cancelled_quantity=max(0, quantity - filled_quantity),
        reason=_text(reason, "cancelled") if reason else None,
    )
    return subjects.order_event(message.type), message


def unknown(row: OrderRow, *, operation: str, detail: str, now: datetime) -> Event:
    message = OrderStateUnknown(
        **_envelope(ids.unknown_event_id(row.command_id, operation), row, now),
        **_common(row),
        operation=operation,
        broker_order_id=BrokerOrderId(row.broker_order_id) if row.broker_order_id else None,
        quantity=row.quantity,
        detail=_text(detail, "unknown outcome"),
    )
    return subjects.order_event(message.type), message


_EXIT_REASON_OF_LEG = {Leg.TARGET: ExitReason.TARGET, Leg.STOP_LOSS: ExitReason.STOP_LOSS}


def exit_reason_of(row: OrderRow) -> ExitReason | None:
    if row.leg in _EXIT_REASON_OF_LEG:
        return _EXIT_REASON_OF_LEG[row.leg]
    try:
        return ExitReason(row.exit_reason) if row.exit_reason else None
    except ValueError:
        return None


def position(
    change: PositionChange,
    *,
    row: OrderRow,
    fill: Fill,
    underlying: Underlying,
    state: PositionState,
    now: datetime,
) -> Event:
    assert row.broker_order_id is not None
    fields: dict[str, object] = {
        **_envelope(ids.position_event_id(row.broker_order_id, fill.cumulative), row, now),
        "security_id": SecurityId(row.contract.security_id),
        "segment": row.contract.segment,
        "underlying": underlying,
        "net_quantity": state.net,
        "average_price": state.average_price if state.net > 0 else Decimal(0),
        "realized_pnl": state.realized_rupees,
        "fill": PositionFill(
            order_key=row.client_order_id,
            side=row.side,
            quantity=fill.quantity,
            price=fill.price,
            cumulative_quantity=fill.cumulative,
        ),
    }
    message: Message
    if change is PositionChange.OPENED:
        message = PositionOpened(**fields)
    elif change is PositionChange.CHANGED:
        message = PositionChanged(**fields)
    else:
        message = PositionClosed(**fields, exit_reason=exit_reason_of(row))
    return subjects.position_event(message.type), message
