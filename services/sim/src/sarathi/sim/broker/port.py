"""What the rest of the sim needs from the paper broker.

The engine calls `step(now)` at every market step so resting orders and super-order legs match
against the market's quotes; the order-update WebSocket listens for `order_alert` payloads (the
`Data` object of REFERENCE §5.3, PascalCase keys) and the control API shows `snapshot()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

OrderAlert = dict[str, Any]
"""The `Data` object of one `{"Type": "order_alert", "Data": {...}}` message."""

AlertListener = Callable[[OrderAlert], None]


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
