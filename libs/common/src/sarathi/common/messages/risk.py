"""Risk events (`risk.evt.*`) and the trading state kept in the KV bucket `control`.

A position is named by its contract (segment and security id), as the broker nets it. P&L is
`(ltp − average entry) × quantity` in Decimal rupees; the high-water mark (`hwm`) is the best P&L
since the trail was armed (ARCHITECTURE §6).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, Self

from pydantic import AwareDatetime, model_validator

from sarathi.common.domain.control import TradingState
from sarathi.common.domain.instruments import Underlying
from sarathi.common.domain.trading import ExitReason
from sarathi.common.messages.base import Message, register
from sarathi.common.messages.fields import (
    Name,
    PositiveDecimal,
    Segment,
    Text,
    WireMoney,
    WirePrice,
    WireSecurityId,
)
from sarathi.common.messages.orders import DhanErrorCode


class _PositionRiskEvent(Message):
    """A risk event about the position in one contract."""

    security_id: WireSecurityId
    segment: Segment
    underlying: Underlying
    pnl: WireMoney
    ltp: WirePrice


@register
class TrailingArmed(_PositionRiskEvent):
    """The position's P&L reached the arming threshold: from now on the trail follows `hwm`."""

    type: Literal["TrailingArmed"] = "TrailingArmed"
    hwm: WireMoney


@register
class ExitTriggered(_PositionRiskEvent):
    """Risk decided to close the position; the `ExitPosition` command it caused follows.

    `hwm` is absent when the trail was never armed (e.g. a square-off of a losing position).
    """

    type: Literal["ExitTriggered"] = "ExitTriggered"
    reason: ExitReason
    hwm: WireMoney | None = None


@register
class DailyLossBreached(Message):
    """Today's P&L fell to the daily loss limit: everything is flattened and trading halts."""

    type: Literal["DailyLossBreached"] = "DailyLossBreached"
    trading_day: date
    realized_pnl: WireMoney
    unrealized_pnl: WireMoney
    total_pnl: WireMoney
    loss_limit: PositiveDecimal

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> Self:
        if self.total_pnl != self.realized_pnl + self.unrealized_pnl:
            raise ValueError(
                f"total {self.total_pnl} ≠ realized {self.realized_pnl} + unrealized {self.unrealized_pnl}"
            )
        return self


@register
class DailyLossBudget(Message):
    """What is left of today's loss budget, as risk counts it (KV `control`/`daily_loss_budget`).

    Risk writes one after every check (its 5-second loop); `event_time` is the market time of that
    check. `net_pnl` is today's P&L net of charges, realised plus open positions marked at their
    last price (risk's own figure, never recomputed elsewhere); `remaining = max(0, loss_limit +
    net_pnl)` is what a new entry may still lose at its stop (execution's sizing bound).
    """

    type: Literal["DailyLossBudget"] = "DailyLossBudget"
    trading_day: date
    net_pnl: WireMoney
    loss_limit: PositiveDecimal
    remaining: WireMoney

    @model_validator(mode="after")
    def _remaining_is_limit_plus_pnl(self) -> Self:
        expected = max(self.loss_limit + self.net_pnl, Decimal(0))
        if self.remaining != expected:
            raise ValueError(
                f"remaining {self.remaining} ≠ max(0, limit {self.loss_limit} + net P&L {self.net_pnl})"
            )
        return self


@register
class BrokerRefusedOrders(Message):
    """Dhan refused an order call for a reason no retry can fix (today: the request's IP is not
    whitelisted, DH-911). Orders publishes one per refused command (or order cancelled); risk
    turns it into HALTED with `reason`, since every further order would be refused the same way."""

    type: Literal["BrokerRefusedOrders"] = "BrokerRefusedOrders"
    error_code: DhanErrorCode
    reason: Text
    operation: Literal["PLACE", "CANCEL"]
    target: Name  # the refused command's id, or the order whose cancel was refused


@register
class TradingStateChanged(Message):
    """The trading state changed: who (`actor`), when (`at`) and why (`reason`)."""

    type: Literal["TradingStateChanged"] = "TradingStateChanged"
    state: TradingState
    previous_state: TradingState
    reason: Text
    actor: Name
    at: AwareDatetime

    @model_validator(mode="after")
    def _is_a_change(self) -> Self:
        if self.state is self.previous_state:
            raise ValueError(f"state {self.state} did not change")
        return self


@register
class ControlState(Message):
    """The value of the KV bucket `control`: the trading state every service obeys."""

    type: Literal["ControlState"] = "ControlState"
    state: TradingState
    reason: Text
    actor: Name
    updated_at: AwareDatetime
