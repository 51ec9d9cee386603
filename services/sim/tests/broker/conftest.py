"""Test kit for the paper broker: a scripted market, a fake clock, builders of instruments, and
a `Kit` bundling a broker with the alerts it emitted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sarathi.common.domain.calendar import IST
from sarathi.common.domain.instruments import ExchangeSegment, OptionType, Underlying
from sarathi.sim.broker.config import BrokerConfig
from sarathi.sim.broker.engine import PaperBroker
from sarathi.sim.broker.models import (
    ModifySuperOrder,
    OrderType,
    PlaceOrder,
    PlaceSuperOrder,
    Product,
    Side,
)
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.view import Quote

START = datetime(2026, 9, 15, 9, 20, tzinfo=IST)


def a_nifty_call(security_id: str = "47317", strike: int = 24000, freeze_qty: int = 1756) -> SimInstrument:
    return SimInstrument(
        security_id=security_id,
        segment=ExchangeSegment.NSE_FNO,
        underlying=Underlying.NIFTY,
        symbol=f"NIFTY-Sep2026-{strike}-CE",
        display_name=f"NIFTY 15 SEP {strike} CALL",
        lot_size=65,
        tick_size=Decimal("0.05"),
        expiry=date(2026, 9, 15),
        strike=Decimal(strike),
        option_type=OptionType.CALL,
        weekly=True,
        freeze_qty=freeze_qty,
    )


def the_nifty_index() -> SimInstrument:
    return SimInstrument(
        security_id="13",
        segment=ExchangeSegment.IDX_I,
        underlying=Underlying.NIFTY,
        symbol="NIFTY",
        display_name="NIFTY 50",
        lot_size=1,
        tick_size=Decimal("0.05"),
    )


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float = 1.0) -> datetime:
        self.at += timedelta(seconds=seconds)
        return self.at


class ScriptedMarket:
    """A `MarketView` whose quotes the test sets; a quote holds until the next `set`."""

    def __init__(self, universe: Universe) -> None:
        self._universe = universe
        self._quotes: dict[str, Quote] = {}

    @property
    def universe(self) -> Universe:
        return self._universe

    def set(
        self,
        security_id: str,
        ltp: str | Decimal,
        *,
        bid: str | Decimal | None = None,
        ask: str | Decimal | None = None,
        bid_qty: int = 10_000,
        ask_qty: int = 10_000,
        at: datetime = START,
    ) -> None:
        price = Decimal(ltp)
        bid_price = Decimal(bid) if bid is not None else max(Decimal(0), price - Decimal("0.05"))
        ask_price = Decimal(ask) if ask is not None else price + Decimal("0.05")
        self._quotes[security_id] = Quote(
            security_id=security_id,
            at=at,
            ltp=price,
            last_trade_time=at,
            last_qty=65,
            bid=bid_price,
            ask=ask_price,
            bid_qty=bid_qty,
            ask_qty=ask_qty,
            volume=0,
            oi=0,
            open=price,
            high=price,
            low=price,
            prev_close=price,
            prev_oi=0,
            average_price=price,
        )

    def quote(self, instrument: SimInstrument, at: datetime) -> Quote:
        return self._quotes[instrument.security_id]

    def index_level(self, underlying: Underlying, at: datetime) -> Decimal:
        return Decimal(24000)


@dataclass
class Kit:
    """A broker over a scripted market and a fake clock, recording its alerts."""

    config: BrokerConfig = field(default_factory=BrokerConfig)
    instruments: tuple[SimInstrument, ...] = field(
        default_factory=lambda: (a_nifty_call(), the_nifty_index())
    )
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.universe = Universe(self.instruments)
        self.market = ScriptedMarket(self.universe)
        self.clock = FakeClock()
        self.broker = PaperBroker(self.universe, self.market, self.clock.now, self.config)
        self.broker.add_alert_listener(self.alerts.append)
        self.market.set("47317", "100", bid="99.95", ask="100.05")

    def tick(
        self, ltp: str, *, bid: str | None = None, ask: str | None = None, sid: str = "47317", **kw: Any
    ) -> None:
        """Move the clock a second, set the quote, and step the broker."""
        at = self.clock.advance()
        self.market.set(sid, ltp, bid=bid, ask=ask, at=at, **kw)
        self.broker.step(at)

    def buy(
        self, quantity: int = 65, order_type: OrderType = OrderType.MARKET, price: str = "0", **kw: Any
    ) -> str:
        return self.place(Side.BUY, quantity, order_type, price, **kw)

    def sell(
        self, quantity: int = 65, order_type: OrderType = OrderType.MARKET, price: str = "0", **kw: Any
    ) -> str:
        return self.place(Side.SELL, quantity, order_type, price, **kw)

    def place(self, side: Side, quantity: int, order_type: OrderType, price: str, **kw: Any) -> str:
        reply = self.broker.place_order(an_order(side, quantity, order_type, price, **kw))
        return str(reply["orderId"])

    def super_buy(
        self,
        *,
        price: str = "100",
        target: str = "120",
        stop: str = "90",
        jump: str = "0",
        quantity: int = 65,
    ) -> str:
        command = PlaceSuperOrder(
            entry=an_order(Side.BUY, quantity, OrderType.LIMIT, price, correlation_id="so-1"),
            target_price=Decimal(target),
            stop_loss_price=Decimal(stop),
            trailing_jump=Decimal(jump),
        )
        return str(self.broker.place_super_order(command)["orderId"])

    def order(self, order_id: str) -> dict[str, Any]:
        found = self.broker.order_by_id(order_id)
        assert found is not None
        return found

    def super_order(self, order_id: str) -> dict[str, Any]:
        return next(s for s in self.broker.super_order_list() if s["orderId"] == order_id)

    def leg(self, order_id: str, name: str) -> dict[str, Any]:
        return next(leg for leg in self.super_order(order_id)["legDetails"] if leg["legName"] == name)

    def position(self, sid: str = "47317") -> dict[str, Any]:
        return next(p for p in self.broker.positions() if p["securityId"] == sid)

    def net_qty(self, sid: str = "47317") -> int:
        return sum(p["netQty"] for p in self.broker.positions() if p["securityId"] == sid)

    def modify_leg(self, order_id: str, **kw: Any) -> dict[str, Any]:
        return self.broker.modify_super_order(order_id, ModifySuperOrder(**kw))


def an_order(
    side: Side = Side.BUY,
    quantity: int = 65,
    order_type: OrderType = OrderType.LIMIT,
    price: str = "100",
    *,
    security_id: str = "47317",
    segment: str = "NSE_FNO",
    product: Product = Product.INTRADAY,
    **kw: Any,
) -> PlaceOrder:
    return PlaceOrder(
        security_id=security_id,
        segment=segment,
        side=side,
        product=product,
        order_type=order_type,
        quantity=quantity,
        price=Decimal(price),
        **kw,
    )


@dataclass(frozen=True)
class Builders:
    kit: Callable[..., Kit]
    order: Callable[..., PlaceOrder]
    nifty_call: Callable[..., SimInstrument]


@pytest.fixture(scope="session")
def build() -> Builders:
    """Factories (session-scoped, so hypothesis tests can use them)."""
    return Builders(kit=Kit, order=an_order, nifty_call=a_nifty_call)


@pytest.fixture
def kit() -> Kit:
    return Kit()
