"""Our own records of a trading day, read from PostgreSQL into plain values for the report.

Each owner's schema is read, never written: orders and fills (`orders`), position trackers
(`risk`), signal decisions (`signals`), entry decisions (`execution`) and the contracts they name
(`refdata`). The rows become frozen dataclasses, so the report is built and tested without a
database.

`sarathi run`'s database holds its one day; a deployment's holds many, so `load_books(url, day)`
reads one IST day's: the orders placed that day and their fills, the positions opened, the
signals whose bar closed and the decisions taken that day (each table's own time column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from sarathi.common.db.engine import create_engine
from sarathi.common.db.models.execution import Decision
from sarathi.common.db.models.orders import Fill, Order
from sarathi.common.db.models.refdata import Derivative
from sarathi.common.db.models.risk import PositionTracker
from sarathi.common.db.models.signals import Signal
from sarathi.common.domain.calendar import IST


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    broker_order_id: str | None
    command_id: str
    security_id: str
    side: str
    order_type: str
    quantity: int
    status: str
    leg_name: str | None
    filled_quantity: int
    average_price: Decimal | None
    exit_reason: str | None
    created_at: datetime
    price: Decimal | None = None  # the limit price; None for a market order
    updated_at: datetime | None = None  # the last change of status (a cancel, the last fill)


@dataclass(frozen=True, slots=True)
class FillRecord:
    client_order_id: str
    broker_order_id: str | None
    broker_trade_id: str
    security_id: str
    side: str
    quantity: int
    price: Decimal
    traded_at: datetime


@dataclass(frozen=True, slots=True)
class TrackerRecord:
    entry_order_id: str
    security_id: str
    underlying: str
    status: str
    exit_reason: str | None
    opened_at: datetime
    closed_at: datetime | None
    realized_pnl: Decimal
    trail_armed: bool
    high_water_mark: Decimal | None
    quantity: int = 0  # net long quantity while OPEN or CLOSING (the fault trials compare it)


@dataclass(frozen=True, slots=True)
class SignalRecord:
    signal_id: str
    underlying: str
    bar_close_at: datetime
    direction: str
    reason: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    signal_id: str
    underlying: str
    outcome: str
    gate: str | None
    reason: str | None
    command_id: str | None
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class ContractRecord:
    security_id: str
    underlying: str
    expiry: date
    strike: Decimal
    option_type: str
    lot_size: int
    trading_symbol: str


@dataclass(frozen=True, slots=True)
class Books:
    """Everything Sarathi recorded about the day."""

    orders: tuple[OrderRecord, ...]
    fills: tuple[FillRecord, ...]
    trackers: tuple[TrackerRecord, ...]
    signals: tuple[SignalRecord, ...]
    decisions: tuple[DecisionRecord, ...]
    contracts: dict[str, ContractRecord]

    @property
    def empty(self) -> bool:
        """Nothing recorded: no order, fill, position, signal or decision."""
        return not (self.orders or self.fills or self.trackers or self.signals or self.decisions)


def load_books(database_url: str, day: date | None = None) -> Books:
    """Everything in the database, or only what belongs to the IST trading day `day`."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return _read(session, day)
    finally:
        engine.dispose()


def _on(day: date | None, column: Any) -> list[ColumnElement[bool]]:
    """`column` within the IST day `day` (midnight to midnight); no condition when `day` is None."""
    if day is None:
        return []
    start = datetime.combine(day, time(0), IST)
    return [column >= start, column < start + timedelta(days=1)]


def _read(session: Session, day: date | None = None) -> Books:
    day_orders = _on(day, Order.created_at)
    orders = list(session.scalars(select(Order).where(*day_orders).order_by(Order.id)))  # type: ignore[arg-type]
    by_id = {o.id: o for o in orders}
    # The fills of the day's orders (a fill's own time would leave an order of the day without them).
    day_order_ids = select(Order.id).where(*day_orders)  # type: ignore[call-overload]
    of_day_orders = [Fill.order_id.in_(day_order_ids)] if day else []  # type: ignore[attr-defined]
    fills = [
        FillRecord(
            client_order_id=by_id[f.order_id].client_order_id,
            broker_order_id=by_id[f.order_id].broker_order_id,
            broker_trade_id=f.broker_trade_id,
            security_id=by_id[f.order_id].security_id,
            side=by_id[f.order_id].side,
            quantity=f.quantity,
            price=f.price,
            traded_at=f.traded_at,
        )
        for f in session.scalars(select(Fill).where(*of_day_orders).order_by(Fill.traded_at, Fill.id))  # type: ignore[arg-type]
    ]
    trackers = [
        TrackerRecord(
            entry_order_id=t.entry_order_id,
            security_id=t.security_id,
            underlying=t.underlying,
            status=t.status,
            exit_reason=t.exit_reason,
            opened_at=t.opened_at,
            closed_at=t.closed_at,
            realized_pnl=t.realized_pnl,
            trail_armed=t.trail_armed,
            high_water_mark=t.high_water_mark,
            quantity=t.quantity,
        )
        for t in session.scalars(
            select(PositionTracker)
            .where(*_on(day, PositionTracker.opened_at))
            .order_by(PositionTracker.opened_at)  # type: ignore[arg-type]
        )
    ]
    signals = [
        SignalRecord(
            s.signal_id, s.underlying, s.bar_close_at, s.direction, str(s.indicators.get("reason", ""))
        )
        for s in session.scalars(
            select(Signal).where(*_on(day, Signal.bar_close_at)).order_by(Signal.bar_close_at)  # type: ignore[arg-type]
        )
    ]
    decisions = [
        DecisionRecord(
            d.signal_id, d.underlying, d.outcome, _gate(d.details), d.reason, d.command_id, d.decided_at
        )
        for d in session.scalars(
            select(Decision).where(*_on(day, Decision.decided_at)).order_by(Decision.decided_at)  # type: ignore[arg-type]
        )
    ]
    wanted = {o.security_id for o in orders}
    # Dhan reuses a security id after its contract expires: of a day's, the nearest expiry from
    # that day on is the one traded (read last, it wins).
    of_day = [Derivative.expiry >= day] if day else []
    derivatives = select(Derivative).where(Derivative.security_id.in_(wanted), *of_day)  # type: ignore[attr-defined, arg-type]
    contracts = {
        d.security_id: ContractRecord(
            d.security_id, d.underlying, d.expiry, d.strike, d.option_type, d.lot_size, d.trading_symbol
        )
        for d in session.scalars(derivatives.order_by(Derivative.expiry.desc()))  # type: ignore[attr-defined]
    }
    return Books(
        orders=tuple(_order(o) for o in orders),
        fills=tuple(fills),
        trackers=tuple(trackers),
        signals=tuple(signals),
        decisions=tuple(decisions),
        contracts=contracts,
    )


def _order(o: Order) -> OrderRecord:
    return OrderRecord(
        client_order_id=o.client_order_id, broker_order_id=o.broker_order_id, command_id=o.command_id,
        security_id=o.security_id, side=o.side, order_type=o.order_type, quantity=o.quantity,
        status=o.status, leg_name=o.leg_name, filled_quantity=o.filled_quantity,
        average_price=o.average_price, exit_reason=o.exit_reason, created_at=o.created_at,
        price=o.price, updated_at=o.updated_at,
    )  # fmt: skip


def _gate(details: dict[str, object]) -> str | None:
    gate = details.get("gate")
    return gate if isinstance(gate, str) else None
