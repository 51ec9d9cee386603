"""The ports of the orders service: what its application code needs from the outside world.

`Broker` is implemented by `adapters.broker.DhanBroker` (Dhan REST through the official client);
every method returns domain objects or raises the typed errors of `sarathi.common.dhan.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import Leg, OrderStatus, Side
from sarathi.common.messages.orders import SubmitEntry
from sarathi.orders.domain.model import BrokerOrder, BrokerPosition, BrokerSuperOrder, BrokerTrade


@dataclass(frozen=True, slots=True)
class Placed:
    """The broker took an order: its id and the status it reported (TRANSIT or PENDING)."""

    broker_order_id: str
    status: OrderStatus | None
    quantity: int | None = None  # known when found by lookup


class Broker(Protocol):
    @property
    def product_type(self) -> str:
        """Dhan's productType of every order this broker places (so of every order row we write)."""
        ...

    async def place_entry(self, command: SubmitEntry) -> Placed: ...

    async def place_market(
        self, command_id: str, contract: ContractKey, side: Side, quantity: int
    ) -> Placed: ...

    async def cancel(self, broker_order_id: str, leg: Leg | None) -> None: ...

    async def locate(self, command_id: str) -> Placed | None:
        """The order we placed under `command_id` (the entry of a super order), or None when the
        broker shows none right now — possibly because it is still in TRANSIT."""
        ...

    async def orders(self) -> list[BrokerOrder]: ...

    async def super_orders(self) -> list[BrokerSuperOrder]: ...

    async def trades(self) -> list[BrokerTrade]: ...

    async def positions(self) -> list[BrokerPosition]: ...

    async def set_kill_switch(self, activate: bool) -> bool: ...

    async def day_profit(self) -> Decimal:
        """Today's profit of our product (realised + unrealised, as the broker's positions say)."""
        ...

    async def arm_pnl_exit(self, loss_inr: Decimal, profit_inr: Decimal, *, kill_switch: bool) -> str: ...
