"""`PaperBroker`: the simulated Dhan account behind the REST trading API (implements `Broker`).

A pure, deterministic state machine: no asyncio, no wall clock. Requests change state at once
(a new order is TRANSIT); the market only acts through `step(now)`, where TRANSIT orders reach
the exchange (PENDING, market orders converted to protected limits, RMS checks), resting orders
match against the quote at `now`, super-order legs arm, trail and fire, and the P&L exit is
checked. Every state change and fill is told to the alert listeners (order-update `Data`).

Not thread-safe: call it from one thread (the sim's event loop).

`DELETE /positions` (exit all) first cancels every open order (TRANSIT included) and every live
super-order leg, then places a MARKET order closing each open position (REFERENCE §4.3 leaves
the order cancellation UNVERIFIED; cancelling first is what guarantees no double exit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sarathi.sim.broker import orders, super_orders, views
from sarathi.sim.broker.book import Book
from sarathi.sim.broker.config import BrokerConfig
from sarathi.sim.broker.controls import PnlExitRule, TraderControls
from sarathi.sim.broker.funds import fund_limit_json
from sarathi.sim.broker.models import (
    ZERO,
    LegName,
    ModifyOrder,
    ModifySuperOrder,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    PlaceSuperOrder,
    Product,
    Side,
    order_error,
)
from sarathi.sim.broker.port import AlertListener, BrokerActivity
from sarathi.sim.broker.super_model import SuperOrder
from sarathi.sim.instruments import Universe
from sarathi.sim.market.view import MarketView


class PaperBroker:
    """One simulated Dhan account: orders, super orders, trades, positions, funds, trader's control."""

    def __init__(
        self,
        universe: Universe,
        market: MarketView,
        now: Callable[[], datetime],
        config: BrokerConfig | None = None,
    ) -> None:
        self.config = config or BrokerConfig()
        self._book = Book(universe, market, now, self.config)
        self._supers: dict[str, SuperOrder] = {}
        self.controls = TraderControls(self.config.client_id)

    # state (persistence: `broker.state`) -------------------------------------------------------
    @property
    def book(self) -> Book:
        return self._book

    @property
    def super_orders(self) -> dict[str, SuperOrder]:
        return self._supers

    @property
    def universe(self) -> Universe:
        return self._book.universe

    @property
    def changes(self) -> int:
        """How many state changes so far: a new value means something to persist."""
        return self._book.changes

    # Broker port ---------------------------------------------------------------------------------
    def step(self, now: datetime) -> None:
        book = self._book
        for order in list(book.orders.values()):
            if order.leg in (LegName.TARGET_LEG, LegName.STOP_LOSS_LEG):
                continue  # exit legs are worked by their super order
            if order.status is OrderStatus.TRANSIT:
                orders.accept(book, order, now)
            orders.match(book, order, now)
        for so in list(self._supers.values()):
            super_orders.step(book, so, now)
        self._check_pnl_exit(now)

    def add_alert_listener(self, listener: AlertListener) -> None:
        self._book.add_listener(listener)

    def snapshot(self) -> dict[str, Any]:
        return {
            "orders": self.order_book(),
            "superOrders": self.super_order_list(),
            "trades": self.trade_book(),
            "positions": self.positions(),
            "funds": self.fund_limit(),
            "killSwitch": self.controls.kill_switch_status(),
            "pnlExit": self.controls.pnl_exit_status(),
        }

    def activity(self) -> BrokerActivity:
        """Open orders (armed exit legs among them) plus the live exit legs of super orders whose
        entry has not filled yet (no order of their own yet, but they will work once it fills);
        positions with a non-zero net quantity. Costs the open orders and the positions only."""
        working = self._book.open_orders()
        waiting_legs = 0
        for order in working:
            so = (
                self._supers.get(order.super_id)
                if order.leg is LegName.ENTRY_LEG and order.super_id
                else None
            )
            if so is not None and not so.closed:
                waiting_legs += sum(1 for leg in so.live_legs() if leg.order is None)
        return BrokerActivity(
            working_orders=len(working) + waiting_legs,
            open_positions=len(self._book.positions.open_positions()),
        )

    # orders --------------------------------------------------------------------------------------
    def _refuse_when_killed(self) -> None:
        if self.controls.kill_switch_active:
            raise order_error("Kill Switch is active: trading is disabled for the day")

    def _reply(self, order: Order | SuperOrder) -> dict[str, Any]:
        return {"orderId": order.order_id, "orderStatus": order.status.value}

    def place_order(self, command: PlaceOrder) -> dict[str, Any]:
        """`POST /orders` → `{orderId, orderStatus: "TRANSIT"}`."""
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        self._refuse_when_killed()
        instrument = orders.validate(self._book, command)
        return self._reply(orders.create(self._book, command, instrument))

    def place_slice_order(self, command: PlaceOrder) -> list[dict[str, Any]]:
        """`POST /orders/slicing` → one `{orderId, orderStatus}` per child below the freeze quantity."""
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        self._refuse_when_killed()
        instrument = orders.validate(self._book, command, slicing=True)
        parts = orders.slice_quantities(instrument, command.quantity)
        return [
            self._reply(orders.create(self._book, orders.child_command(command, q), instrument))
            for q in parts
        ]

    def _order(self, order_id: str) -> Order:
        order = self._book.orders.get(order_id)
        if order is None:
            raise order_error("Invalid order id: no such order")
        return order

    def modify_order(self, order_id: str, command: ModifyOrder) -> dict[str, Any]:
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        self._refuse_when_killed()
        order = self._order(order_id)
        if order.super_id is not None:
            raise order_error("Super order legs are modified with PUT /super/orders/{order-id}")
        orders.modify(self._book, order, command)
        return self._reply(order)

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """`DELETE /orders/{id}`; a super-order leg is cancelled as `DELETE /super/orders/{parent}/{leg}`."""
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        order = self._order(order_id)
        if order.super_id is not None and order.leg is not None:
            self.cancel_super_order(order.super_id, order.leg)
        else:
            orders.cancel(self._book, order)
        return {"orderId": order.order_id, "orderStatus": OrderStatus.CANCELLED.value}

    def order_book(self) -> list[dict[str, Any]]:
        return [views.order_json(o, self.config.client_id) for o in self._book.orders.values()]

    def order_by_id(self, order_id: str) -> dict[str, Any] | None:
        order = self._book.orders.get(order_id)
        return views.order_json(order, self.config.client_id) if order is not None else None

    def order_by_correlation_id(self, correlation_id: str) -> dict[str, Any] | None:
        """The latest order with that tag; orders still in TRANSIT are not found (REFERENCE §2.5, live)."""
        found = [
            o
            for o in self._book.orders.values()
            if o.correlation_id == correlation_id and o.status is not OrderStatus.TRANSIT
        ]
        return views.order_json(found[-1], self.config.client_id) if found else None

    def trade_book(self, order_id: str | None = None) -> list[dict[str, Any]]:
        trades = self._book.trades
        chosen = trades if order_id is None else [t for t in trades if t.order.order_id == order_id]
        return [views.trade_json(t, self.config.client_id) for t in chosen]

    # super orders --------------------------------------------------------------------------------
    def _super(self, order_id: str) -> SuperOrder:
        so = self._supers.get(order_id)
        if so is None:
            raise order_error("Invalid order id: no such super order")
        return so

    def place_super_order(self, command: PlaceSuperOrder) -> dict[str, Any]:
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        self._refuse_when_killed()
        so = super_orders.place(self._book, command)
        self._supers[so.order_id] = so
        return self._reply(so)

    def modify_super_order(self, order_id: str, command: ModifySuperOrder) -> dict[str, Any]:
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        self._refuse_when_killed()
        so = self._super(order_id)
        super_orders.modify(self._book, so, command)
        return self._reply(so)

    def cancel_super_order(self, order_id: str, leg: LegName) -> dict[str, Any]:
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        super_orders.cancel(self._book, self._super(order_id), leg)
        return {"orderId": order_id, "orderStatus": OrderStatus.CANCELLED.value}

    def super_order_list(self) -> list[dict[str, Any]]:
        return [views.super_order_json(so, self.config.client_id) for so in self._supers.values()]

    # portfolio -----------------------------------------------------------------------------------
    def positions(self) -> list[dict[str, Any]]:
        now = self._book.now()
        return [
            views.position_json(p, self._book.ltp(p.instrument, now), self.config.client_id)
            for p in self._book.positions
        ]

    def fund_limit(self) -> dict[str, Any]:
        return fund_limit_json(self._book)

    def exit_all(self) -> dict[str, Any]:
        """`DELETE /positions`: cancel everything open, then close every position at market."""
        self._book.changes += 1  # a request that may change the books: worth a snapshot
        if self._exit(None, self._book.now()):
            return {"status": "SUCCESS", "message": "All open orders cancelled and positions exited"}
        return {"status": "ERROR", "message": "No open positions or orders found"}  # UNVERIFIED wording

    def _exit(self, products: Iterable[Product] | None, at: datetime) -> bool:
        book = self._book
        chosen = set(products) if products is not None else set(Product)
        acted = False
        for so in self._supers.values():
            if so.entry.product in chosen and not so.closed and (so.entry.status.is_open or so.live_legs()):
                super_orders.cancel_all(book, so, at)
                acted = True
        for order in book.open_orders():
            if order.product in chosen:
                book.set_status(order, OrderStatus.CANCELLED, at, "Cancelled by exit all")
                acted = True
        for position in book.positions.open_positions():
            if position.product not in chosen:
                continue
            side = Side.SELL if position.net_qty > 0 else Side.BUY
            for quantity in orders.slice_quantities(position.instrument, abs(position.net_qty)):
                command = PlaceOrder(
                    security_id=position.instrument.security_id,
                    segment=position.instrument.segment.wire,
                    side=side,
                    product=position.product,
                    order_type=OrderType.MARKET,
                    quantity=quantity,
                )
                orders.create(book, command, position.instrument)
            acted = True
        return acted

    # trader's control ----------------------------------------------------------------------------
    def set_kill_switch(self, activate: bool) -> dict[str, Any]:
        busy = bool(self._book.positions.open_positions() or self._book.open_orders())
        if activate and not self.controls.kill_switch_active and busy:
            raise order_error("Kill Switch can be activated only with no open positions or pending orders")
        self._book.changes += 1
        self.controls.kill_switch_active = activate
        return self.controls.kill_switch_reply()

    def kill_switch_status(self) -> dict[str, Any]:
        return self.controls.kill_switch_status()

    def set_pnl_exit(self, rule: PnlExitRule) -> dict[str, Any]:
        self._book.changes += 1
        self.controls.pnl_exit = rule
        return {"pnlExitStatus": "ACTIVE", "message": "P&L based exit has been configured successfully"}

    def pnl_exit_status(self) -> dict[str, Any]:
        return self.controls.pnl_exit_status()

    def stop_pnl_exit(self) -> dict[str, Any]:
        self._book.changes += 1
        self.controls.pnl_exit = None
        return {"pnlExitStatus": "DISABLED", "message": "P&L based exit has been disabled"}

    def _check_pnl_exit(self, now: datetime) -> None:
        rule = self.controls.pnl_exit
        if rule is None:
            return
        products = rule.products
        pnl = ZERO
        for position in self._book.positions:
            if position.product in products:
                pnl += position.realized + position.unrealized(self._book.ltp(position.instrument, now))
        if rule.breached(pnl):
            self._book.changes += 1
            self.controls.pnl_exit = None
            self._exit(products, now)
            if rule.enable_kill_switch:
                self.controls.kill_switch_active = True
