"""Dhan's REST shapes of the broker's state (REFERENCE §2.5, §2.6, §3.5, §4.1): the JSON edge,
where Decimals become floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sarathi.sim.broker.alerts import ist_text
from sarathi.sim.broker.models import LegName, Order, Trade
from sarathi.sim.broker.positions import Position
from sarathi.sim.broker.super_model import ExitLeg, SuperOrder
from sarathi.sim.instruments import SimInstrument


def _derivative(instrument: SimInstrument) -> dict[str, Any]:
    option = instrument.option_type
    return {
        "drvExpiryDate": instrument.expiry.isoformat() if instrument.expiry else "0001-01-01",
        "drvOptionType": option.dhan_name if option is not None else "NA",
        "drvStrikePrice": float(instrument.strike) if instrument.strike is not None else 0.0,
    }


def order_json(order: Order, client_id: str) -> dict[str, Any]:
    instrument = order.instrument
    return {
        "dhanClientId": client_id,
        "orderId": order.order_id,
        "exchangeOrderId": order.exchange_order_id,
        "correlationId": order.correlation_id,
        "orderStatus": order.status.value,
        "transactionType": order.side.value,
        "exchangeSegment": instrument.segment.wire,
        "productType": order.product.value,
        "orderType": order.order_type.value,
        "validity": order.validity.value,
        "tradingSymbol": instrument.symbol,
        "securityId": instrument.security_id,
        "quantity": order.quantity,
        "disclosedQuantity": order.disclosed_quantity,
        "price": float(order.price),
        "triggerPrice": float(order.trigger_price),
        "afterMarketOrder": order.after_market,
        "boProfitValue": 0.0,
        "boStopLossValue": 0.0,
        "legName": order.leg.value if order.leg is not None else "NA",
        "createTime": ist_text(order.created_at),
        "updateTime": ist_text(order.updated_at),
        "exchangeTime": ist_text(order.exchange_time),
        **_derivative(instrument),
        "omsErrorCode": "",
        "omsErrorDescription": order.oms_error or "CONFIRMED",
        "algoId": "",
        "remainingQuantity": order.remaining if order.status.is_open else 0,
        "averageTradedPrice": float(order.average_price),
        "filledQty": order.filled_qty,
    }


def trade_json(trade: Trade, client_id: str) -> dict[str, Any]:
    order = trade.order
    return {
        "dhanClientId": client_id,
        "orderId": order.order_id,
        "exchangeOrderId": order.exchange_order_id,
        "exchangeTradeId": trade.trade_id,
        "transactionType": order.side.value,
        "exchangeSegment": order.instrument.segment.wire,
        "productType": order.product.value,
        "orderType": order.order_type.value,
        "tradingSymbol": order.instrument.symbol,
        "securityId": order.instrument.security_id,
        "tradedQuantity": trade.quantity,
        "tradedPrice": float(trade.price),
        "createTime": ist_text(trade.at),
        "updateTime": ist_text(trade.at),
        "exchangeTime": ist_text(trade.at),
        **_derivative(order.instrument),
    }


def _leg_json(so: SuperOrder, leg: ExitLeg) -> dict[str, Any]:
    is_stop = leg.name is LegName.STOP_LOSS_LEG
    if not leg.live:
        remaining = 0
    elif so.entry.filled_qty:
        remaining = so.open_qty
    else:
        remaining = so.entry.quantity
    body: dict[str, Any] = {
        "orderId": so.order_id,  # the parent's id, as in the docs' sample (REFERENCE §3.5)
        "legName": leg.name.value,
        "transactionType": so.exit_side.value,
    }
    if is_stop:
        # The docs' sample carries the misspelt key on the stop-loss leg only; so does the sim.
        body["totalQuatity"] = leg.order.quantity if leg.order is not None else so.entry.quantity
    return body | {
        "remainingQuantity": remaining,
        "triggeredQuantity": leg.triggered_qty,
        "price": float(leg.price),
        "orderStatus": leg.status.value,
        "trailingJump": float(so.trailing_jump) if is_stop else 0.0,
    }


def super_order_json(so: SuperOrder, client_id: str) -> dict[str, Any]:
    entry = so.entry
    return {
        "dhanClientId": client_id,
        "orderId": so.order_id,
        "correlationId": entry.correlation_id,
        "orderStatus": so.status.value,
        "transactionType": entry.side.value,
        "exchangeSegment": entry.instrument.segment.wire,
        "productType": entry.product.value,
        "orderType": entry.order_type.value,
        "validity": "DAY",
        "tradingSymbol": entry.instrument.symbol,
        "securityId": entry.instrument.security_id,
        "quantity": entry.quantity,
        "remainingQuantity": entry.remaining if entry.status.is_open else 0,
        "ltp": float(so.last_ltp or entry.ref_ltp),
        "price": float(entry.price),
        "afterMarketOrder": False,
        "legName": "ENTRY_LEG",
        "trailingJump": float(so.trailing_jump),
        "exchangeOrderId": entry.exchange_order_id,
        "createTime": ist_text(entry.created_at),
        "updateTime": ist_text(entry.updated_at),
        "exchangeTime": ist_text(entry.exchange_time),
        "omsErrorDescription": entry.oms_error,
        "averageTradedPrice": float(entry.average_price),
        "filledQty": entry.filled_qty,
        "legDetails": [_leg_json(so, leg) for leg in so.legs()],
    }


def position_json(position: Position, ltp: Decimal, client_id: str) -> dict[str, Any]:
    instrument = position.instrument
    return {
        "dhanClientId": client_id,
        "tradingSymbol": instrument.symbol,
        "securityId": instrument.security_id,
        "positionType": position.position_type,
        "exchangeSegment": instrument.segment.wire,
        "productType": position.product.value,
        "buyAvg": float(position.buy_avg),
        "buyQty": position.buy_qty,
        "costPrice": float(position.cost_price),
        "sellAvg": float(position.sell_avg),
        "sellQty": position.sell_qty,
        "netQty": position.net_qty,
        "realizedProfit": float(position.realized),
        "unrealizedProfit": float(position.unrealized(ltp)),
        "rbiReferenceRate": 1.0,
        "multiplier": 1,
        "carryForwardBuyQty": 0,
        "carryForwardSellQty": 0,
        "carryForwardBuyValue": 0.0,
        "carryForwardSellValue": 0.0,
        "dayBuyQty": position.buy_qty,
        "daySellQty": position.sell_qty,
        "dayBuyValue": float(position.buy_value),
        "daySellValue": float(position.sell_value),
        **_derivative(instrument),
        "crossCurrency": False,
    }
