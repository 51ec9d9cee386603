"""Typed trading calls over `DhanRest`: each returns a venue schema or raises a typed `DhanError`.

Order APIs (place / modify / cancel) count against Dhan's order rate limits and are
`changes_state=True`, so a timeout or server failure is a `DhanUnknownOutcomeError`. Reads are
non-trading calls. The SDK's reply dict never leaves `DhanRest`.

Guards of our own:
- at most `MAX_MODIFICATIONS` (25, REFERENCE §1.7) modifications per order (per leg of a super
  order): the 26th is refused here (`DhanRejectedError`, code `MODIFY_LIMIT`) without a call;
- `order_by_correlation_id` answers None for Dhan's `404 DH-906`, which also covers an order
  still in TRANSIT (REFERENCE §2.5): None means "not visible now", never "definitely absent";
- a cancel answered with no body at all (202, as one page of Dhan's docs shows the super-order
  cancel; another shows `{orderId, orderStatus}`) is a success; a 2xx reply to a placement or a
  cancel that is not the expected shape is a `DhanUnknownOutcomeError` (Dhan answered, we cannot
  tell what it did): the caller looks at the order book rather than stopping half way.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any, Literal

from sarathi.common.dhan.errors import DhanNotFoundError, DhanRejectedError, DhanUnknownOutcomeError
from sarathi.common.dhan.rest import Category, DhanRest
from sarathi.common.dhan.schemas import (
    ExitAllReply,
    FundLimit,
    KillSwitchReply,
    ModifyOrderRequest,
    OrderRecord,
    OrderReply,
    PnlExitReply,
    PositionRecord,
    Profile,
    StaticIps,
    SuperOrderRecord,
    TradeRecord,
    VenueSchemaError,
    one_or_none,
    parse,
    parse_list,
)

MAX_MODIFICATIONS = 25
SuperLeg = Literal["ENTRY_LEG", "TARGET_LEG", "STOP_LOSS_LEG"]


def _order_reply(body: Any) -> OrderReply:
    """A placement's or cancel's 2xx reply; one we cannot read leaves the outcome unknown."""
    try:
        return parse(OrderReply, body)
    except VenueSchemaError as exc:
        raise DhanUnknownOutcomeError(f"unreadable reply: {exc}") from exc


def _cancel_reply(order_id: str, body: Any) -> OrderReply:
    """`{orderId, orderStatus}`, or no body at all: the order id we asked about, status unknown."""
    if body is None or body in ("", {}):
        return OrderReply(order_id=order_id)
    return _order_reply(body)


def _float(value: Decimal) -> float:
    """The SDK sends floats; a price on the 0.05 tick survives the trip through its shortest repr."""
    return float(value)


class DhanTrading:
    """Dhan's order, portfolio and trader's-control APIs, typed."""

    def __init__(self, rest: DhanRest, *, max_modifications: int = MAX_MODIFICATIONS) -> None:
        self.rest = rest
        self._max_modifications = max_modifications
        self._modifications: Counter[tuple[str, str]] = Counter()

    async def _order_call(self, call: Any) -> Any:
        return await self.rest.call(Category.ORDERS, call, changes_state=True)

    async def _read(self, call: Any) -> Any:
        return await self.rest.call(Category.NON_TRADING, call, changes_state=False)

    def _count_modification(self, order_id: str, leg: str) -> None:
        key = (order_id, leg)
        if self._modifications[key] >= self._max_modifications:
            raise DhanRejectedError(
                f"order {order_id} {leg} was modified {self._max_modifications} times already",
                code="MODIFY_LIMIT",
            )
        self._modifications[key] += 1

    def modifications(self, order_id: str, leg: str = "NA") -> int:
        return self._modifications[(order_id, leg)]

    # placing and changing orders -----------------------------------------------------------------

    async def place_super_order(
        self,
        *,
        correlation_id: str,
        security_id: str,
        exchange_segment: str,
        transaction_type: str,
        quantity: int,
        order_type: str,
        product_type: str,
        price: Decimal,
        target_price: Decimal,
        stop_loss_price: Decimal,
        trailing_jump: Decimal,
    ) -> OrderReply:
        body = await self._order_call(
            lambda sdk: sdk.place_super_order(
                security_id,
                exchange_segment,
                transaction_type,
                quantity,
                order_type,
                product_type,
                _float(price),
                targetPrice=_float(target_price),
                stopLossPrice=_float(stop_loss_price),
                trailingJump=_float(trailing_jump),
                tag=correlation_id,
            )
        )
        return _order_reply(body)

    async def modify_super_order(
        self,
        order_id: str,
        leg: SuperLeg,
        *,
        order_type: str = "LIMIT",
        quantity: int = 0,
        price: Decimal = Decimal(0),
        target_price: Decimal = Decimal(0),
        stop_loss_price: Decimal = Decimal(0),
        trailing_jump: Decimal = Decimal(0),
    ) -> OrderReply:
        self._count_modification(order_id, leg)
        body = await self._order_call(
            lambda sdk: sdk.modify_super_order(
                order_id,
                order_type,
                leg,
                quantity=quantity,
                price=_float(price),
                targetPrice=_float(target_price),
                stopLossPrice=_float(stop_loss_price),
                trailingJump=_float(trailing_jump),
            )
        )
        return parse(OrderReply, body)

    async def cancel_super_order(self, order_id: str, leg: SuperLeg) -> OrderReply:
        """ENTRY_LEG cancels the whole super order; a leg alone cannot be re-added (REFERENCE §3.4)."""
        body = await self._order_call(lambda sdk: sdk.cancel_super_order(order_id, leg))
        return _cancel_reply(order_id, body)

    async def place_market_order(
        self,
        *,
        correlation_id: str,
        security_id: str,
        exchange_segment: str,
        transaction_type: str,
        quantity: int,
        product_type: str,
    ) -> OrderReply:
        """A plain MARKET order (Dhan converts it into a protected LIMIT, REFERENCE §2.2)."""
        body = await self._order_call(
            lambda sdk: sdk.place_order(
                security_id,
                exchange_segment,
                transaction_type,
                quantity,
                "MARKET",
                product_type,
                0,
                tag=correlation_id,
            )
        )
        return _order_reply(body)

    async def modify_order(
        self,
        order_id: str,
        *,
        order_type: str,
        quantity: int,
        price: Decimal,
        trigger_price: Decimal = Decimal(0),
        validity: str = "DAY",
    ) -> OrderReply:
        """`quantity` is the order's new total (REFERENCE §2.4).

        Sent through the SDK's HTTP layer rather than its `modify_order`, which always sends
        `legName` (and we had sent it as `""`, refused by Dhan with DH-905): absent fields are left out.
        """
        request = ModifyOrderRequest(
            order_id=order_id,
            order_type=order_type,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            validity=validity,
        )
        self._count_modification(order_id, "NA")
        body = await self._order_call(lambda sdk: sdk.dhan_http.put(f"/orders/{order_id}", request.body()))
        return parse(OrderReply, body)

    async def cancel_order(self, order_id: str) -> OrderReply:
        body = await self._order_call(lambda sdk: sdk.cancel_order(order_id))
        return _cancel_reply(order_id, body)

    # reading orders and trades ------------------------------------------------------------------

    async def order_by_id(self, order_id: str) -> OrderRecord | None:
        """None when Dhan answers `200 []` (live) or 404 for an unknown id."""
        try:
            body = await self._read(lambda sdk: sdk.get_order_by_id(order_id))
        except DhanNotFoundError:
            return None
        return one_or_none(OrderRecord, body)

    async def order_by_correlation_id(self, correlation_id: str) -> OrderRecord | None:
        """The order tagged `correlation_id`, or None when not visible now (see the module docstring)."""
        try:
            body = await self._read(lambda sdk: sdk.get_order_by_correlationID(correlation_id))
        except DhanNotFoundError:
            return None
        return one_or_none(OrderRecord, body)

    async def orders(self) -> list[OrderRecord]:
        return parse_list(OrderRecord, await self._read(lambda sdk: sdk.get_order_list()))

    async def super_orders(self) -> list[SuperOrderRecord]:
        return parse_list(SuperOrderRecord, await self._read(lambda sdk: sdk.get_super_order_list()))

    async def trades(self, order_id: str | None = None) -> list[TradeRecord]:
        try:
            body = await self._read(lambda sdk: sdk.get_trade_book(order_id))
        except DhanNotFoundError:
            return []
        return parse_list(TradeRecord, body)

    # portfolio and trader's control -------------------------------------------------------------

    async def positions(self) -> list[PositionRecord]:
        return parse_list(PositionRecord, await self._read(lambda sdk: sdk.get_positions()))

    async def fund_limit(self) -> FundLimit:
        return parse(FundLimit, await self._read(lambda sdk: sdk.get_fund_limits()))

    async def profile(self) -> Profile:
        """`GET /profile`: answers only for a valid token (the SDK's `user_profile` bypasses our HTTP)."""
        return parse(Profile, await self._read(lambda sdk: sdk.dhan_http.get("/profile")))

    async def static_ips(self) -> StaticIps:
        """`GET /ip/getIP`; Dhan's error shape (a one-element array) is read as its message."""
        body = await self._read(lambda sdk: sdk.dhan_http.get("/ip/getIP"))
        if isinstance(body, list):
            first = body[0] if body and isinstance(body[0], dict) else {}
            return StaticIps(message=str(first.get("message") or "no static IP reply"))
        return parse(StaticIps, body)

    async def exit_all(self) -> ExitAllReply:
        """`DELETE /positions`; cancel open orders yourself first (REFERENCE §4.3 is UNVERIFIED)."""
        body = await self.rest.call(Category.ORDERS, lambda sdk: sdk.exit_all_positions(), changes_state=True)
        return parse(ExitAllReply, body)

    async def set_kill_switch(self, activate: bool) -> KillSwitchReply:
        action = "ACTIVATE" if activate else "DEACTIVATE"
        body = await self.rest.call(
            Category.NON_TRADING, lambda sdk: sdk.kill_switch(action), changes_state=True
        )
        return parse(KillSwitchReply, body)

    async def kill_switch_status(self) -> KillSwitchReply:
        return parse(KillSwitchReply, await self._read(lambda sdk: sdk.status_kill_switch()))

    async def set_pnl_exit(
        self, *, profit_value: Decimal, loss_value: Decimal, enable_kill_switch: bool
    ) -> PnlExitReply:
        body = await self.rest.call(
            Category.NON_TRADING,
            lambda sdk: sdk.set_pnl_exit(
                _float(profit_value), _float(loss_value), ["INTRADAY"], enable_kill_switch
            ),
            changes_state=True,
        )
        return parse(PnlExitReply, body)

    async def pnl_exit_status(self) -> PnlExitReply:
        return parse(PnlExitReply, await self._read(lambda sdk: sdk.get_pnl_exit()))

    async def stop_pnl_exit(self) -> PnlExitReply:
        body = await self.rest.call(Category.NON_TRADING, lambda sdk: sdk.stop_pnl_exit(), changes_state=True)
        return parse(PnlExitReply, body)
