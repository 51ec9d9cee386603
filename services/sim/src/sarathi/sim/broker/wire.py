"""Dhan's request bodies for the trading API (REFERENCE §1.2, §2.3, §3.2–3.3, §4.6), each with
one function mapping it into the broker's command.

Body conventions: numbers, numeric strings and `null` are accepted; an *empty string* for a
numeric field is refused (DH-905, as live Dhan does); unknown keys (the SDK's `dhanClientId`,
deprecated `tradingSymbol`/`drv*` keys) are ignored. Floats are converted once, here, through
their shortest repr into `Decimal`.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from sarathi.sim.broker.controls import PnlExitRule
from sarathi.sim.broker.models import (
    ZERO,
    LegName,
    ModifyOrder,
    ModifySuperOrder,
    OrderType,
    PlaceOrder,
    PlaceSuperOrder,
    Product,
    Side,
    Validity,
    input_error,
)

MAX_MAGNITUDE = Decimal(10) ** 12  # no price, quantity or amount of this API comes near it


def _decimal(value: object) -> Decimal | None:
    number = _parse_decimal(value)
    if number is not None and abs(number) > MAX_MAGNITUDE:
        raise ValueError("number out of range")
    return number


def _parse_decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty string for a numeric field")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError("expected a number") from None
        if not result.is_finite():
            raise ValueError("expected a finite number")
        return result
    raise ValueError("expected a number")


def _integer(value: object) -> int | None:
    number = _decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ValueError("expected a whole number")
    return int(number)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected a string")


Num = Annotated[Decimal | None, BeforeValidator(_decimal)]
Int = Annotated[int | None, BeforeValidator(_integer)]
Text = Annotated[str | None, BeforeValidator(_text)]


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


def _money(value: Decimal | None) -> Decimal:
    return value if value is not None else ZERO


class PlaceOrderBody(_Body):
    transaction_type: Side
    exchange_segment: str
    product_type: Product
    order_type: OrderType
    validity: Validity
    security_id: Annotated[str, BeforeValidator(_text)]
    quantity: Annotated[int, BeforeValidator(_integer)]
    disclosed_quantity: Int = None
    price: Num = None
    trigger_price: Num = None
    after_market_order: bool | None = None
    amo_time: Literal["PRE_OPEN", "OPEN", "OPEN_30", "OPEN_60"] | None = None
    bo_profit_value: Num = None
    bo_stop_loss_value: Num = None
    correlation_id: Text = None

    def command(self) -> PlaceOrder:
        return PlaceOrder(
            security_id=self.security_id,
            segment=self.exchange_segment,
            side=self.transaction_type,
            product=self.product_type,
            order_type=self.order_type,
            quantity=self.quantity,
            price=_money(self.price),
            trigger_price=_money(self.trigger_price),
            validity=self.validity,
            disclosed_quantity=self.disclosed_quantity or 0,
            correlation_id=self.correlation_id or None,
            after_market=bool(self.after_market_order),
        )


class ModifyOrderBody(_Body):
    order_type: OrderType | None = None
    leg_name: Text = None  # only meaningful for BO/CO; ignored
    quantity: Int = None
    price: Num = None
    disclosed_quantity: Int = None
    trigger_price: Num = None
    validity: Validity | None = None

    def command(self) -> ModifyOrder:
        return ModifyOrder(
            order_type=self.order_type,
            quantity=self.quantity,
            price=self.price,
            trigger_price=self.trigger_price,
            disclosed_quantity=self.disclosed_quantity,
            validity=self.validity,
        )


class PlaceSuperOrderBody(_Body):
    transaction_type: Side
    exchange_segment: str
    product_type: Product
    order_type: OrderType
    security_id: Annotated[str, BeforeValidator(_text)]
    quantity: Annotated[int, BeforeValidator(_integer)]
    price: Num = None
    target_price: Num = None
    stop_loss_price: Num = None
    trailing_jump: Num = None
    correlation_id: Text = None

    def command(self) -> PlaceSuperOrder:
        entry = PlaceOrder(
            security_id=self.security_id,
            segment=self.exchange_segment,
            side=self.transaction_type,
            product=self.product_type,
            order_type=self.order_type,
            quantity=self.quantity,
            price=_money(self.price),
            correlation_id=self.correlation_id or None,
        )
        return PlaceSuperOrder(
            entry=entry,
            target_price=_money(self.target_price),
            stop_loss_price=_money(self.stop_loss_price),
            trailing_jump=_money(self.trailing_jump),
        )


class ModifySuperOrderBody(_Body):
    leg_name: LegName
    order_type: OrderType | None = None
    quantity: Int = None
    price: Num = None
    target_price: Num = None
    stop_loss_price: Num = None
    trailing_jump: Num = None

    def command(self) -> ModifySuperOrder:
        return ModifySuperOrder(
            leg=self.leg_name,
            order_type=self.order_type,
            quantity=self.quantity,
            price=self.price,
            target_price=self.target_price,
            stop_loss_price=self.stop_loss_price,
            trailing_jump=self.trailing_jump,
        )


class PnlExitBody(_Body):
    profit_value: Num = None
    loss_value: Num = None
    product_type: list[Literal["INTRADAY", "DELIVERY"]]
    enable_kill_switch: bool = False

    def rule(self) -> PnlExitRule:
        profit, loss = _money(self.profit_value), _money(self.loss_value)
        if profit < 0 or loss < 0:
            raise input_error("profitValue and lossValue must not be negative")
        if not self.product_type:
            raise input_error("productType must name at least one product")
        return PnlExitRule(profit, loss, tuple(dict.fromkeys(self.product_type)), self.enable_kill_switch)
