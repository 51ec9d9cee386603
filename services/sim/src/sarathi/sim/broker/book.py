"""The broker's state and the few primitives every operation uses: ids, quotes, status changes,
fills (trade + position + alert) and alert delivery.

Everything here is deterministic: ids come from counters and the injected clock, quotes from the
`MarketView` at the instant asked. Nothing here decides *whether* an order fills; `orders`,
`super_orders` and the engine do.

Every status change goes through `set_status` (and every new order through `add`, or `accept`
for an exit leg), which keeps an index of the open orders: `open_orders()` costs what is open,
not the whole day's book.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sarathi.common.domain.calendar import IST
from sarathi.common.logging import get_logger
from sarathi.sim.broker.alerts import order_alert
from sarathi.sim.broker.config import BrokerConfig
from sarathi.sim.broker.models import Order, OrderStatus, Trade
from sarathi.sim.broker.port import AlertListener
from sarathi.sim.broker.positions import PositionBook
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import MarketView, Quote

log = get_logger(__name__)

ORDER_PREFIX = "11"
SUPER_PREFIX = "59"


class Book:
    """Orders (plain and super-order legs), trades and positions of one simulated account."""

    def __init__(
        self, universe: Universe, market: MarketView, now: Callable[[], datetime], config: BrokerConfig
    ) -> None:
        self.universe = universe
        self.market = market
        self.now = now
        self.config = config
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}  # the open ones of `orders`, in the same (creation) order
        self.trades: list[Trade] = []
        self.positions = PositionBook()
        self._listeners: list[AlertListener] = []
        self.sequences = {"order": 0, "exchange": 0, "trade": 0}  # the last id of each kind issued
        self.changes = 0  # state changes so far (each alert, each control change): what to persist
        self._quotes: dict[str, Quote] = {}
        self._quotes_at: datetime | None = None

    # ids ---------------------------------------------------------------------------------------
    def next_order_id(self, prefix: str = ORDER_PREFIX) -> str:
        """Dhan-like ids: prefix, IST date `yymmdd`, a 5-digit sequence (e.g. `1126091500001`)."""
        day = self.now().astimezone(IST).strftime("%y%m%d")
        return f"{prefix}{day}{self._next('order'):05d}"

    def next_exchange_order_id(self) -> str:
        return f"15{self._next('exchange'):014d}"

    def _next(self, kind: str) -> int:
        self.sequences[kind] += 1
        return self.sequences[kind]

    # market ------------------------------------------------------------------------------------
    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        """The quote at `at`, asked of the market once per instrument and instant."""
        if at != self._quotes_at:
            self._quotes, self._quotes_at = {}, at
        cached = self._quotes.get(instrument.security_id)
        if cached is None:
            cached = self._quotes[instrument.security_id] = self.market.quote(instrument, at)
        return cached

    def ltp(self, instrument: SimInstrument, at: datetime) -> Decimal:
        return self.quote(instrument, at).ltp

    # alerts ------------------------------------------------------------------------------------
    def add_listener(self, listener: AlertListener) -> None:
        self._listeners.append(listener)

    def emit(self, order: Order, at: datetime) -> None:
        """Tell every listener about `order` as it stands; a failing listener never stops the broker."""
        self.changes += 1
        alert = order_alert(order, client_id=self.config.client_id, case=self.config.status_case, at=at)
        for listener in self._listeners:
            try:
                listener(alert)
            except Exception:
                log.exception("sim_broker_alert_listener_failed", order_id=order.order_id)

    # state changes -----------------------------------------------------------------------------
    def _track(self, order: Order) -> None:
        if order.status.is_open:
            self._open.setdefault(order.order_id, order)
        else:
            self._open.pop(order.order_id, None)

    def restore_order(self, order: Order) -> None:
        """Put back an order of a persisted book (no alert: nothing changed)."""
        self.orders[order.order_id] = order
        self._track(order)

    def add(self, order: Order) -> None:
        self.orders[order.order_id] = order
        self._track(order)
        self.emit(order, order.created_at)

    def set_status(self, order: Order, status: OrderStatus, at: datetime, reason: str = "") -> None:
        order.status = status
        self._track(order)
        order.updated_at = at
        if reason:
            order.oms_error = reason
        self.emit(order, at)

    def accept(self, order: Order, at: datetime) -> None:
        """TRANSIT → PENDING: the exchange has the order."""
        order.exchange_order_id = order.exchange_order_id or self.next_exchange_order_id()
        order.exchange_time = at
        self.set_status(order, OrderStatus.PENDING, at)

    def fill(self, order: Order, quantity: int, price: Decimal, at: datetime) -> Trade:
        """Execute `quantity` of `order` at `price`: a trade, the position, the status, one alert."""
        if quantity <= 0 or quantity > order.remaining:
            raise AssertionError(f"fill of {quantity} on {order.order_id} with {order.remaining} remaining")
        if not order.exchange_order_id:
            order.exchange_order_id = self.next_exchange_order_id()
            order.exchange_time = at
        trade = Trade(f"{self._next('trade'):08d}", order, quantity, price, at)
        self.trades.append(trade)
        order.trades.append(trade)
        order.filled_qty += quantity
        order.filled_value += price * quantity
        order.last_fill_price = price
        self.positions.apply(order.instrument, order.product, order.side, quantity, price)
        status = OrderStatus.TRADED if order.remaining == 0 else OrderStatus.PART_TRADED
        self.set_status(order, status, at)
        return trade

    def open_orders(self) -> list[Order]:
        """The orders not in a final state, oldest first (from the index: O(open orders))."""
        return list(self._open.values())
