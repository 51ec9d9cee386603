"""The `Data` object of an order-update `order_alert` (REFERENCE §5.3), built from an order.

One alert per state change and per fill, super-order legs included (`Remarks: "Super Order"`,
`LegNo` 1 entry / 2 stop-loss / 3 target, `AlgoOrdNo` = the super order's id). Plain orders carry
`LegNo` 1 and empty `AlgoOrdNo`/`Remarks` (UNVERIFIED). Times are IST `YYYY-MM-DD HH:MM:SS`;
`ExpiryDate` of a derivative follows the docs' sample (`<date> 14:30:00`, UNVERIFIED).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment
from sarathi.sim.broker.config import StatusCase
from sarathi.sim.broker.models import Order, OrderStatus, OrderType, Product

NEVER = "0001-01-01 00:00:00"

PRODUCT_CODES = {Product.CNC: "C", Product.INTRADAY: "I", Product.MARGIN: "M", Product.MTF: "F"}
ORDER_TYPE_CODES = {
    OrderType.LIMIT: "LMT",
    OrderType.MARKET: "MKT",
    OrderType.STOP_LOSS: "SL",
    OrderType.STOP_LOSS_MARKET: "SLM",
}
SEGMENT_CODES = {
    ExchangeSegment.NSE_FNO: ("NSE", "D"),
    ExchangeSegment.BSE_FNO: ("BSE", "D"),
    ExchangeSegment.NSE_EQ: ("NSE", "E"),
    ExchangeSegment.BSE_EQ: ("BSE", "E"),
    ExchangeSegment.IDX_I: ("NSE", "I"),
}


def ist_text(at: datetime | None) -> str:
    """`YYYY-MM-DD HH:MM:SS` in IST, or Dhan's never-sent sentinel."""
    return at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S") if at is not None else NEVER


def status_text(status: OrderStatus, case: StatusCase) -> str:
    if case is StatusCase.UPPER:
        return status.value
    return "_".join(word.capitalize() for word in status.value.split("_"))


def order_alert(order: Order, *, client_id: str, case: StatusCase, at: datetime) -> dict[str, Any]:
    """The alert for `order` as it stands at `at`."""
    instrument = order.instrument
    exchange, segment = SEGMENT_CODES.get(instrument.segment, ("NSE", "D"))
    option = instrument.option_type
    expiry = f"{instrument.expiry.isoformat()} 14:30:00" if instrument.expiry else NEVER
    leg_no = order.leg.leg_no if order.leg is not None else 1
    last_price = float(order.last_fill_price) if order.filled_qty else 0.0
    return {
        "Exchange": exchange,
        "Segment": segment,
        "Source": "P",
        "SecurityId": instrument.security_id,
        "ClientId": client_id,
        "ExchOrderNo": order.exchange_order_id,
        "OrderNo": order.order_id,
        "Product": PRODUCT_CODES[order.product],
        "TxnType": "B" if order.side.value == "BUY" else "S",
        "OrderType": ORDER_TYPE_CODES[order.order_type],
        "Validity": order.validity.value,
        "DiscQuantity": order.disclosed_quantity,
        "DiscQtyRem": order.disclosed_quantity,
        "RemainingQuantity": order.remaining if order.status.is_open else 0,
        "Quantity": order.quantity,
        "TradedQty": order.filled_qty,
        "Price": float(order.price),
        "TriggerPrice": float(order.trigger_price),
        "TradedPrice": last_price,
        "AvgTradedPrice": float(order.average_price),
        "AlgoOrdNo": order.super_id or "",
        "StrategyId": 0,
        "OffMktFlag": "1" if order.after_market else "0",
        "OrderDateTime": ist_text(order.created_at),
        "ExchOrderTime": ist_text(order.exchange_time),
        "LastUpdatedTime": ist_text(at),
        "Remarks": "Super Order" if order.super_id else "",
        "MktType": "NL",
        "ReasonDescription": order.oms_error or "CONFIRMED",
        "LegNo": leg_no,
        "Instrument": "INDEX" if instrument.is_index else "OPTIDX",
        "Symbol": instrument.symbol,
        "ProductName": order.product.value,
        "Status": status_text(order.status, case),
        "LotSize": instrument.lot_size,
        "StrikePrice": float(instrument.strike) if instrument.strike is not None else 0.0,
        "ExpiryDate": expiry,
        "OptType": option.value if option is not None else "XX",
        "DisplayName": instrument.display_name,
        "Isin": "",
        "Series": "",
        "GoodTillDaysDate": instrument.expiry.isoformat() if instrument.expiry else "",
        "RefLtp": float(order.ref_ltp),
        "TickSize": float(instrument.tick_size),
        "AlgoId": "0",
        "Multiplier": 1,
        "CorrelationId": order.correlation_id,
    }
