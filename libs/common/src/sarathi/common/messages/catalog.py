"""Every bus message type, imported so that `decode` knows them all.

Import this module (not just `base`) wherever bytes from the bus are decoded.
"""

from __future__ import annotations

from sarathi.common.messages.base import Message
from sarathi.common.messages.market import (
    Bar,
    FeedRecovered,
    FeedStale,
    SubscribeReply,
    SubscribeRequest,
    Tick,
    TickSnapshot,
    TickSnapshotRequest,
    UnsubscribeReply,
    UnsubscribeRequest,
)
from sarathi.common.messages.orders import (
    CancelOrder,
    ExitPosition,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStateUnknown,
    PositionChanged,
    PositionClosed,
    PositionOpened,
    SubmitEntry,
)
from sarathi.common.messages.risk import (
    BrokerRefusedOrders,
    ControlState,
    DailyLossBreached,
    DailyLossBudget,
    ExitTriggered,
    TradingStateChanged,
    TrailingArmed,
)
from sarathi.common.messages.signals import Signal
from sarathi.common.messages.sim import ClockDone, ClockHeld, SimClockState

ALL_MESSAGE_TYPES: tuple[type[Message], ...] = (
    # market data
    Tick,
    Bar,
    FeedStale,
    FeedRecovered,
    SubscribeRequest,
    SubscribeReply,
    UnsubscribeRequest,
    UnsubscribeReply,
    TickSnapshotRequest,
    TickSnapshot,
    # signals
    Signal,
    # order commands
    SubmitEntry,
    ExitPosition,
    CancelOrder,
    # order and position events
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    OrderCancelled,
    OrderStateUnknown,
    PositionOpened,
    PositionChanged,
    PositionClosed,
    # risk and control
    TrailingArmed,
    ExitTriggered,
    DailyLossBreached,
    DailyLossBudget,
    TradingStateChanged,
    ControlState,
    BrokerRefusedOrders,
    # simulation
    SimClockState,
    ClockHeld,
    ClockDone,
)
"""Every concrete message type, in a stable order (by area)."""

__all__ = ["ALL_MESSAGE_TYPES"]
