"""`DhanBroker`: the `Broker` port over `DhanTrading` (Dhan REST via the official client).

An order call refused because our IP is not whitelisted (`DhanIpRefusedError`, DH-911) is first
reported to `on_refused` (which tells risk to halt), then raised as the rejection it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Literal

from sarathi.common.dhan.errors import DhanIpRefusedError, DhanRejectedError
from sarathi.common.dhan.trading import DhanTrading
from sarathi.common.domain.instruments import ContractKey
from sarathi.common.domain.trading import Leg, Side
from sarathi.common.messages.orders import SubmitEntry
from sarathi.orders.adapters.mapping import (
    DHAN_LEG_NAMES,
    order_from_record,
    position_from_record,
    super_order_from_record,
    trade_from_record,
)
from sarathi.orders.domain.model import (
    BrokerOrder,
    BrokerPosition,
    BrokerSuperOrder,
    BrokerTrade,
    parse_status,
)
from sarathi.orders.ports import Placed

NOTHING_TO_CANCEL = ("nothing to cancel",)


def is_nothing_to_cancel(error: DhanRejectedError) -> bool:
    """Dhan's DH-906 "Nothing to Cancel" (and kin): the order or leg no longer rests."""
    return any(marker in error.message.lower() for marker in NOTHING_TO_CANCEL)


OnRefused = Callable[[Literal["PLACE", "CANCEL"], str, DhanIpRefusedError], Awaitable[None]]


async def _ignore(*_: object) -> None:
    return None


class DhanBroker:
    def __init__(self, trading: DhanTrading, *, product_type: str, on_refused: OnRefused = _ignore) -> None:
        self.trading = trading
        self._product = product_type
        self._on_refused = on_refused

    @property
    def product_type(self) -> str:
        return self._product

    @asynccontextmanager
    async def _watch(self, operation: Literal["PLACE", "CANCEL"], target: str) -> AsyncIterator[None]:
        try:
            yield
        except DhanIpRefusedError as exc:
            await self._on_refused(operation, target, exc)
            raise

    async def place_entry(self, command: SubmitEntry) -> Placed:
        async with self._watch("PLACE", command.command_id):
            return await self._place_entry(command)

    async def _place_entry(self, command: SubmitEntry) -> Placed:
        reply = await self.trading.place_super_order(
            correlation_id=command.command_id,
            security_id=command.contract.security_id,
            exchange_segment=command.contract.segment.wire,
            transaction_type=Side.BUY.value,
            quantity=command.quantity,
            order_type=command.order_type.value,
            product_type=self._product,
            price=command.entry_price,
            target_price=command.target_price,
            stop_loss_price=command.stop_loss_price,
            trailing_jump=command.trailing_jump,
        )
        return Placed(reply.order_id, parse_status(reply.order_status))

    async def place_market(self, command_id: str, contract: ContractKey, side: Side, quantity: int) -> Placed:
        async with self._watch("PLACE", command_id):
            reply = await self.trading.place_market_order(
                correlation_id=command_id,
                security_id=contract.security_id,
                exchange_segment=contract.segment.wire,
                transaction_type=side.value,
                quantity=quantity,
                product_type=self._product,
            )
        return Placed(reply.order_id, parse_status(reply.order_status))

    async def cancel(self, broker_order_id: str, leg: Leg | None) -> None:
        async with self._watch("CANCEL", broker_order_id):
            if leg is None or leg is Leg.EXIT:
                await self.trading.cancel_order(broker_order_id)
            else:
                await self.trading.cancel_super_order(broker_order_id, DHAN_LEG_NAMES[leg])  # type: ignore[arg-type]

    async def locate(self, command_id: str) -> Placed | None:
        record = await self.trading.order_by_correlation_id(command_id)
        if record is not None and record.leg_name in ("", "NA", "ENTRY_LEG"):
            return Placed(record.order_id, parse_status(record.order_status), record.quantity)
        # A leg answered (it shares its entry's tag), or nothing is visible yet (TRANSIT orders
        # are not found by tag): the super-order list and the order book show both.
        for so in await self.trading.super_orders():
            if so.correlation_id == command_id:
                return Placed(so.order_id, parse_status(so.order_status), so.quantity)
        for row in await self.trading.orders():
            if row.correlation_id == command_id and row.leg_name in ("", "NA", "ENTRY_LEG"):
                return Placed(row.order_id, parse_status(row.order_status), row.quantity)
        return None

    async def orders(self) -> list[BrokerOrder]:
        return [order_from_record(row) for row in await self.trading.orders()]

    async def super_orders(self) -> list[BrokerSuperOrder]:
        return [super_order_from_record(row) for row in await self.trading.super_orders()]

    async def trades(self) -> list[BrokerTrade]:
        return [trade_from_record(row) for row in await self.trading.trades()]

    async def positions(self) -> list[BrokerPosition]:
        return [position_from_record(row) for row in await self.trading.positions()]

    async def set_kill_switch(self, activate: bool) -> bool:
        return (await self.trading.set_kill_switch(activate)).active

    async def day_profit(self) -> Decimal:
        """The sum of `realizedProfit` + `unrealizedProfit` over our product's positions: what we
        take Dhan's P&L exit to measure (UNVERIFIED: Dhan does not define its P&L)."""
        rows = [row for row in await self.trading.positions() if row.product_type == self._product]
        zero = Decimal(0)
        return sum(((row.realized_profit or zero) + (row.unrealized_profit or zero) for row in rows), zero)

    async def arm_pnl_exit(self, loss_inr: Decimal, profit_inr: Decimal, *, kill_switch: bool) -> str:
        reply = await self.trading.set_pnl_exit(
            profit_value=profit_inr, loss_value=loss_inr, enable_kill_switch=kill_switch
        )
        return reply.pnl_exit_status
