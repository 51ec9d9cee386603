"""The words of a trade every service shares: side, direction, legs, exit reasons, order status.

Spelt as Dhan spells them where Dhan has a word (`transactionType`, `orderStatus`); the bus
messages carry these values as they are (`sarathi.common.messages`).
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Dhan's `transactionType`: the side of an order or an executed trade."""

    BUY = "BUY"
    SELL = "SELL"


class Direction(StrEnum):
    """The trend decision of a signal: bullish buys calls, bearish buys puts, neutral does nothing."""

    BULLISH = "BULLISH"
    BEARISH = "BEARISH"
    NEUTRAL = "NEUTRAL"


class EntryOrderType(StrEnum):
    """Order type of a super order's entry leg."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"


class Leg(StrEnum):
    """Which order of a trade: the three legs of a super order, or our own exit sell."""

    ENTRY = "ENTRY"  # Dhan ENTRY_LEG
    TARGET = "TARGET"  # Dhan TARGET_LEG
    STOP_LOSS = "STOP_LOSS"  # Dhan STOP_LOSS_LEG
    EXIT = "EXIT"  # the plain market sell of the exit protocol (Dhan legName "NA")


class ExitReason(StrEnum):
    """Why a position is (being) closed."""

    TARGET = "TARGET"  # the broker's target leg filled
    STOP_LOSS = "STOP_LOSS"  # the broker's stop-loss leg filled
    TRAILING = "TRAILING"  # our trailing stop on profit fired
    SQUARE_OFF = "SQUARE_OFF"  # end-of-day square-off
    FLATTEN = "FLATTEN"  # operator asked to flatten
    KILL = "KILL"  # operator kill switch
    DAILY_LOSS = "DAILY_LOSS"  # the daily loss limit was breached
    STALE_PRICE = "STALE_PRICE"  # prices of a held contract went stale
    DUPLICATE = "DUPLICATE"  # a second broker entry under one command id, closed by orders at once


class OrderStatus(StrEnum):
    """Dhan's `orderStatus` (REFERENCE §2.2); CLOSED and TRIGGERED occur on super orders only."""

    TRANSIT = "TRANSIT"
    PENDING = "PENDING"
    PART_TRADED = "PART_TRADED"
    TRADED = "TRADED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    CLOSED = "CLOSED"
    TRIGGERED = "TRIGGERED"
