"""Order commands, order events and position events (ARCHITECTURE §3, §6, §7).

Commands (`order.cmd.*`) are imperative and carry a deterministic id: the envelope's
`message_id` is the command id, the JetStream `Nats-Msg-Id` and Dhan's `correlationId`, so it
must fit Dhan's `correlationId` (≤25 chars of `[A-Za-z0-9_-]`). Events (`order.evt.*`,
`position.evt.*`) are past tense and published by `orders` only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, Strict, StringConstraints, model_validator

from sarathi.common.domain.instruments import (
    CORRELATION_ID_MAX_LEN,
    ClientOrderId,
    ExchangeSegment,
    OptionType,
    Underlying,
)
from sarathi.common.domain.trading import EntryOrderType, ExitReason, Leg, OrderStatus, Side
from sarathi.common.messages.base import Message, register
from sarathi.common.messages.fields import (
    CLIENT_ORDER_ID_PATTERN,
    AveragePrice,
    Count,
    FrozenModel,
    Name,
    NetQuantity,
    PositiveDecimal,
    Quantity,
    Segment,
    Text,
    WireBrokerOrderId,
    WireClientOrderId,
    WireMoney,
    WirePrice,
    WireSecurityId,
)

MessageRef = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""The `message_id` of another message (e.g. the signal a command came from)."""

PyramidLevel = Annotated[int, Strict(), Field(ge=0, le=2)]
"""0 for the entry, 1 and 2 for the pyramids on top of it (ARCHITECTURE §6)."""

DhanErrorCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
"""Dhan's `errorCode` (`DH-906`) or an RMS / OMS error code."""

OrderKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""Our key of an order record (`orders.order.client_order_id`), legs and outside orders included."""

_CLIENT_ORDER_ID = re.compile(CLIENT_ORDER_ID_PATTERN)


class _Command(Message):
    """A command whose `message_id` is the deterministic command id sent to Dhan."""

    @model_validator(mode="after")
    def _id_fits_dhan_correlation_id(self) -> Self:
        if not _CLIENT_ORDER_ID.match(self.message_id):
            raise ValueError(
                f"command id {self.message_id!r} is not a Dhan correlationId: "
                f"1-{CORRELATION_ID_MAX_LEN} characters of A-Z a-z 0-9 _ -"
            )
        return self

    @property
    def command_id(self) -> ClientOrderId:
        return ClientOrderId(self.message_id)


def _check_option_segment(underlying: Underlying, segment: ExchangeSegment) -> None:
    if segment is not underlying.spec.fno_segment:
        raise ValueError(
            f"{underlying} options trade on {underlying.spec.fno_segment.wire}, not {segment.wire}"
        )


class OptionContract(FrozenModel):
    """The option contract to buy, as the Derivative table knows it."""

    security_id: WireSecurityId
    segment: Segment
    strike: PositiveDecimal
    expiry: date
    option_type: OptionType


@register
class SubmitEntry(_Command):
    """Buy `contract` with a Dhan Super Order: entry, target leg and stop-loss leg.

    `quantity` is in units (what Dhan takes) and must equal `lots × lot_size`. Prices are
    absolute and on the ₹0.05 tick; for a MARKET entry `entry_price` is the reference price the
    target and stop were computed from. `trailing_jump` is the broker's trail step, 0 for none.
    """

    type: Literal["SubmitEntry"] = "SubmitEntry"
    signal_id: MessageRef
    underlying: Underlying
    contract: OptionContract
    quantity: Quantity
    lots: Quantity
    lot_size: Quantity
    order_type: EntryOrderType
    entry_price: WirePrice
    target_price: WirePrice
    stop_loss_price: WirePrice
    trailing_jump: WirePrice
    pyramid_level: PyramidLevel

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.quantity != self.lots * self.lot_size:
            raise ValueError(f"quantity {self.quantity} ≠ {self.lots} lots × lot size {self.lot_size}")
        _check_option_segment(self.underlying, self.contract.segment)
        if not 0 < self.stop_loss_price < self.entry_price < self.target_price:
            raise ValueError(
                f"a buy needs 0 < stop-loss {self.stop_loss_price} < entry {self.entry_price} "
                f"< target {self.target_price}"
            )
        return self


@register
class ExitPosition(_Command):
    """Close the whole position in a contract: cancel its resting legs, sell the broker's net quantity."""

    type: Literal["ExitPosition"] = "ExitPosition"
    security_id: WireSecurityId
    segment: Segment
    underlying: Underlying
    reason: ExitReason
    requested_by: Name

    @model_validator(mode="after")
    def _segment_of_underlying(self) -> Self:
        _check_option_segment(self.underlying, self.segment)
        return self


@register
class CancelOrder(_Command):
    """Cancel a resting order; for a super order, `leg` ENTRY cancels all of its legs."""

    type: Literal["CancelOrder"] = "CancelOrder"
    client_order_id: WireClientOrderId
    broker_order_id: WireBrokerOrderId | None = None
    leg: Leg = Leg.ENTRY
    security_id: WireSecurityId
    segment: Segment
    reason: Text
    requested_by: Name


OrderCommand = SubmitEntry | ExitPosition | CancelOrder
"""What `order.cmd.>` carries."""


class _OrderEvent(Message):
    """What every order event names: our command id, the contract, the side and the leg."""

    client_order_id: WireClientOrderId
    security_id: WireSecurityId
    segment: Segment
    side: Side
    leg: Leg


@register
class OrderAccepted(_OrderEvent):
    """Dhan took the order (status TRANSIT or PENDING); rejection by RMS may still follow."""

    type: Literal["OrderAccepted"] = "OrderAccepted"
    broker_order_id: WireBrokerOrderId
    status: OrderStatus
    quantity: Quantity
    price: WirePrice | None = None


@register
class OrderRejected(_OrderEvent):
    """Dhan or the exchange refused the order; `error_code` and `error_message` are Dhan's."""

    type: Literal["OrderRejected"] = "OrderRejected"
    broker_order_id: WireBrokerOrderId | None = None
    quantity: Quantity
    error_code: DhanErrorCode | None = None
    error_message: Text


@register
class OrderFilled(_OrderEvent):
    """One trade of an order: `fill_quantity` at `fill_price`, `cumulative_quantity` so far."""

    type: Literal["OrderFilled"] = "OrderFilled"
    broker_order_id: WireBrokerOrderId
    trade_id: Name
    fill_quantity: Quantity
    fill_price: WirePrice
    cumulative_quantity: Quantity
    order_quantity: Quantity
    exchange_time: AwareDatetime | None = None

    @model_validator(mode="after")
    def _quantities_add_up(self) -> Self:
        if not self.fill_quantity <= self.cumulative_quantity <= self.order_quantity:
            raise ValueError(
                f"fill {self.fill_quantity} ≤ cumulative {self.cumulative_quantity} "
                f"≤ order {self.order_quantity} does not hold"
            )
        return self

    @property
    def is_complete(self) -> bool:
        return self.cumulative_quantity == self.order_quantity


@register
class OrderCancelled(_OrderEvent):
    """The order (or leg) will trade no more; `filled_quantity` had traded before."""

    type: Literal["OrderCancelled"] = "OrderCancelled"
    broker_order_id: WireBrokerOrderId
    filled_quantity: Count
    cancelled_quantity: Count
    reason: Text | None = None


@register
class OrderStateUnknown(_OrderEvent):
    """A broker call failed ambiguously: resolve by correlation id, never resubmit under a new id."""

    type: Literal["OrderStateUnknown"] = "OrderStateUnknown"
    operation: Literal["PLACE", "MODIFY", "CANCEL"]
    broker_order_id: WireBrokerOrderId | None = None
    quantity: Quantity
    detail: Text


OrderEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCancelled | OrderStateUnknown
"""What `order.evt.>` carries."""


class PositionFill(FrozenModel):
    """The execution that moved the position: `quantity` units at `price` (the price our fill
    record holds, which is an average and may lie off the tick) of the order `order_key` (our
    order record's key: the command id, `<command id>/<leg>` for a super-order leg, `ext/<id>` for
    an order placed outside Sarathi), bringing that order to `cumulative_quantity`. Risk counts
    charges from these, per order, as the day's report does from the fill records
    (`sarathi.common.domain.pnl`)."""

    order_key: OrderKey
    side: Side
    quantity: Quantity
    price: PositiveDecimal
    cumulative_quantity: Quantity


class _PositionEvent(Message):
    """The broker-side position in one contract after a fill: long or flat, never short.
    `fill` names that fill (absent from publishers older than the field)."""

    security_id: WireSecurityId
    segment: Segment
    underlying: Underlying
    net_quantity: NetQuantity
    average_price: AveragePrice
    realized_pnl: WireMoney
    fill: PositionFill | None = None


class _OpenPositionEvent(_PositionEvent):
    """A position event after which the position is still long."""

    @model_validator(mode="after")
    def _is_open(self) -> Self:
        if self.net_quantity == 0:
            raise ValueError(f"{self.type} leaves a long position: net quantity must be positive")
        return self


@register
class PositionOpened(_OpenPositionEvent):
    """A flat contract became long."""

    type: Literal["PositionOpened"] = "PositionOpened"


@register
class PositionChanged(_OpenPositionEvent):
    """A long position grew (pyramid) or shrank (partial exit) and is still open."""

    type: Literal["PositionChanged"] = "PositionChanged"


@register
class PositionClosed(_PositionEvent):
    """A long position went flat; `realized_pnl` is the trade's result before charges."""

    type: Literal["PositionClosed"] = "PositionClosed"
    exit_reason: ExitReason | None = None

    @model_validator(mode="after")
    def _is_flat(self) -> Self:
        if self.net_quantity != 0:
            raise ValueError(f"a closed position is flat, got net quantity {self.net_quantity}")
        return self


PositionEvent = PositionOpened | PositionChanged | PositionClosed
"""What `position.evt.>` carries."""
