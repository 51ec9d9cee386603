"""What the rest of the sim needs from the paper broker.

The engine calls `step(now)` at every market step so resting orders and super-order legs match
against the market's quotes; the order-update WebSocket listens for `order_alert` payloads (the
`Data` object of REFERENCE §5.3, PascalCase keys) and the control API shows `snapshot()` (the
whole day, for people) and `activity()` (two counts, cheap enough to poll every step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

OrderAlert = dict[str, Any]
"""The `Data` object of one `{"Type": "order_alert", "Data": {...}}` message."""

AlertListener = Callable[[OrderAlert], None]


@dataclass(frozen=True, slots=True)
class BrokerActivity:
    """What could still change at the broker: orders that may fill, positions still open."""

    working_orders: int  # not final (TRANSIT, PENDING, PART_TRADED), super-order exit legs included
    open_positions: int  # net quantity not zero


class Broker(Protocol):
    def step(self, now: datetime) -> None:
        """Match resting orders and live super-order legs against the quotes at `now`."""
        ...

    def add_alert_listener(self, listener: AlertListener) -> None:
        """Receive one alert per order state change and per fill, super-order legs included."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """Orders, super orders with legs, trades and positions, in Dhan's REST shapes."""
        ...

    def activity(self) -> BrokerActivity:
        """The counts of working orders and open positions, in O(open orders + positions)."""
        ...
