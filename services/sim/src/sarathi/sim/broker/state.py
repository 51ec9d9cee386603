"""The paper broker's whole state as plain JSON, and back (what `SARATHI_SIM_STATE_DIR` keeps).

`dump_broker(broker)` gives every order (plain orders and super-order legs, with their fills),
every super order with its legs, the trades in execution order, the positions, the id sequences
and the trader's controls; `restore_broker(broker, data)` puts them back into a fresh broker
over the same universe, so that it answers the same order book, trades, positions and funds
(funds are derived from orders and positions) and issues the next ids where it left off.
Correlation ids are fields of the orders. Decimals travel as strings, instants as ISO 8601.

A state that does not fit (an unknown security id, a missing field, a leg pointing at no order)
raises `BrokerStateError`: the caller refuses to start rather than trade on a partial book.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sarathi.sim.broker.controls import PnlExitRule
from sarathi.sim.broker.models import LegName, Order, OrderStatus, OrderType, Product, Side, Trade, Validity
from sarathi.sim.broker.positions import Position
from sarathi.sim.broker.super_model import ExitLeg, SuperOrder
from sarathi.sim.instruments import UnknownInstrumentError

if TYPE_CHECKING:
    from sarathi.sim.broker.engine import PaperBroker

FORMAT = 1

_ORDER_ENUMS: dict[str, Any] = {
    "side": Side,
    "product": Product,
    "order_type": OrderType,
    "requested_type": OrderType,
    "validity": Validity,
    "status": OrderStatus,
    "leg": LegName,
}
_ORDER_DECIMALS = ("price", "trigger_price", "filled_value", "last_fill_price", "ref_ltp")
_ORDER_INSTANTS = ("created_at", "updated_at", "exchange_time")
_POSITION_DECIMALS = ("buy_value", "sell_value", "open_value", "realized")


class BrokerStateError(ValueError):
    """A persisted broker state that cannot be restored as it is."""


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _order_json(order: Order) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(order):
        value = getattr(order, f.name)
        if f.name == "instrument":
            value = order.instrument.security_id
        elif f.name == "trades":
            value = [trade.trade_id for trade in order.trades]
        elif f.name in _ORDER_DECIMALS:
            value = str(value)
        elif f.name in _ORDER_INSTANTS:
            value = _instant(value)
        elif f.name in _ORDER_ENUMS:
            value = None if value is None else value.value
        out[f.name] = value
    return out


def _order_from(data: dict[str, Any], broker: PaperBroker) -> Order:
    values = dict(data)
    values["instrument"] = broker.universe.get(values["instrument"])
    values["trades"] = []  # filled in from the trade list
    for name in _ORDER_DECIMALS:
        values[name] = Decimal(values[name])
    for name in _ORDER_INSTANTS:
        values[name] = _parse_instant(values[name])
    for name, kind in _ORDER_ENUMS.items():
        values[name] = None if values[name] is None else kind(values[name])
    return Order(**values)


def _leg_json(leg: ExitLeg | None) -> dict[str, Any] | None:
    if leg is None:
        return None
    return {
        "name": leg.name.value,
        "price": str(leg.price),
        "status": leg.status.value,
        "order": None if leg.order is None else leg.order.order_id,
        "triggered_qty": leg.triggered_qty,
        "modifications": leg.modifications,
    }


def _leg_from(data: dict[str, Any] | None, orders: dict[str, Order]) -> ExitLeg | None:
    if data is None:
        return None
    return ExitLeg(
        name=LegName(data["name"]),
        price=Decimal(data["price"]),
        status=OrderStatus(data["status"]),
        order=None if data["order"] is None else orders[data["order"]],
        triggered_qty=data["triggered_qty"],
        modifications=data["modifications"],
    )


def _super_json(so: SuperOrder) -> dict[str, Any]:
    return {
        "entry": so.entry.order_id,
        "target": _leg_json(so.target),
        "stop": _leg_json(so.stop),
        "trailing_jump": str(so.trailing_jump),
        "trail_ref": None if so.trail_ref is None else str(so.trail_ref),
        "exited_qty": so.exited_qty,
        "closed": so.closed,
        "last_ltp": str(so.last_ltp),
    }


def _super_from(data: dict[str, Any], orders: dict[str, Order]) -> SuperOrder:
    return SuperOrder(
        entry=orders[data["entry"]],
        target=_leg_from(data["target"], orders),
        stop=_leg_from(data["stop"], orders),
        trailing_jump=Decimal(data["trailing_jump"]),
        trail_ref=None if data["trail_ref"] is None else Decimal(data["trail_ref"]),
        exited_qty=data["exited_qty"],
        closed=data["closed"],
        last_ltp=Decimal(data["last_ltp"]),
    )


def _position_json(position: Position) -> dict[str, Any]:
    return {
        "instrument": position.instrument.security_id,
        "product": position.product.value,
        "buy_qty": position.buy_qty,
        "sell_qty": position.sell_qty,
        **{name: str(getattr(position, name)) for name in _POSITION_DECIMALS},
    }


def _position_from(data: dict[str, Any], broker: PaperBroker) -> Position:
    return Position(
        instrument=broker.universe.get(data["instrument"]),
        product=Product(data["product"]),
        buy_qty=data["buy_qty"],
        sell_qty=data["sell_qty"],
        **{name: Decimal(data[name]) for name in _POSITION_DECIMALS},
    )


def _rule_json(rule: PnlExitRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "profit_value": str(rule.profit_value),
        "loss_value": str(rule.loss_value),
        "product_types": list(rule.product_types),
        "enable_kill_switch": rule.enable_kill_switch,
    }


def _rule_from(data: dict[str, Any] | None) -> PnlExitRule | None:
    if data is None:
        return None
    return PnlExitRule(
        profit_value=Decimal(data["profit_value"]),
        loss_value=Decimal(data["loss_value"]),
        product_types=tuple(data["product_types"]),
        enable_kill_switch=data["enable_kill_switch"],
    )


def dump_broker(broker: PaperBroker) -> dict[str, Any]:
    book = broker.book
    return {
        "format": FORMAT,
        "client_id": broker.config.client_id,
        "orders": [_order_json(order) for order in book.orders.values()],
        "trades": [
            {
                "trade_id": t.trade_id,
                "order": t.order.order_id,
                "quantity": t.quantity,
                "price": str(t.price),
                "at": t.at.isoformat(),
            }
            for t in book.trades
        ],
        "super_orders": [_super_json(so) for so in broker.super_orders.values()],
        "positions": [_position_json(p) for p in book.positions],
        "sequences": dict(book.sequences),
        "kill_switch_active": broker.controls.kill_switch_active,
        "pnl_exit": _rule_json(broker.controls.pnl_exit),
    }


def restore_broker(broker: PaperBroker, data: dict[str, Any]) -> None:
    """Load `data` (from `dump_broker`) into `broker`, which must be fresh (nothing placed yet)."""
    book = broker.book
    if book.orders or book.trades:
        raise BrokerStateError("the broker already holds orders: restore into a fresh one")
    try:
        if data["format"] != FORMAT:
            raise BrokerStateError(f"unknown broker state format {data['format']!r} (expected {FORMAT})")
        if data["client_id"] != broker.config.client_id:
            raise BrokerStateError(
                f"the state belongs to client {data['client_id']}, the sim serves {broker.config.client_id}"
            )
        orders = {o["order_id"]: _order_from(o, broker) for o in data["orders"]}
        for order in orders.values():
            book.restore_order(order)
        for t in data["trades"]:
            order = orders[t["order"]]
            at = datetime.fromisoformat(t["at"])
            trade = Trade(t["trade_id"], order, t["quantity"], Decimal(t["price"]), at)
            book.trades.append(trade)
            order.trades.append(trade)
        for s in data["super_orders"]:
            so = _super_from(s, orders)
            broker.super_orders[so.order_id] = so
        book.positions.restore(_position_from(p, broker) for p in data["positions"])
        book.sequences.update({kind: int(data["sequences"][kind]) for kind in book.sequences})
        broker.controls.kill_switch_active = bool(data["kill_switch_active"])
        broker.controls.pnl_exit = _rule_from(data["pnl_exit"])
    except BrokerStateError:
        raise
    except UnknownInstrumentError as exc:
        raise BrokerStateError(f"the state names a security id this universe does not list: {exc}") from None
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise BrokerStateError(f"malformed broker state: {type(exc).__name__}: {exc}") from None
