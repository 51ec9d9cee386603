"""The report of a trading day, built from our books and checked against the broker's.

Pure: `build_report(books, broker, ...)` takes what `sarathi.cli.books` read from PostgreSQL and
the broker's `/sim/state` books and returns a `DayReport`; `render_text` prints it. Without the
broker's books (`sarathi report`: a deployed day, read back from the database alone) nothing is
reconciled and the report says "not checked against the broker".

A trade is one position in one contract, from flat to long to flat again, walked from our fills
(pyramids add to it; one exit can close it). Its exit reason is the one risk recorded on the
position's tracker, else the reason on our exit order, else the super-order leg that sold.
A trade's P&L and charges are `sarathi.common.domain.pnl.trade_pnl` of its fills, the function
risk counts its daily P&L with, so the report's net and risk's `/pnl` (the progress line, `sarathi
status`, the dashboards) agree to the paisa: one contract note per trade, ₹20 brokerage per
executed order (a pyramid, a super-order leg and an exit order each count). A trade still open is
not marked to a price here: its gross is what it realized, its charges those of its executed orders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from textwrap import wrap
from typing import Any, Protocol

from sarathi.cli.books import Books, FillRecord, OrderRecord
from sarathi.cli.prices import PriceSource, prices_line
from sarathi.common.domain.calendar import IST
from sarathi.common.domain.charges import ChargesCalculator
from sarathi.common.domain.instruments import Exchange, Underlying, contract_name
from sarathi.common.domain.money import format_inr
from sarathi.common.domain.pnl import TradeFill, trade_pnl
from sarathi.common.domain.trading import Side

ZERO = Decimal(0)
PAISA = Decimal("0.01")
CONTRACT_WIDTH = len("BANKNIFTY 55000 CE 22-Sep")  # a contract name never wraps or shifts a column
LEG_REASONS = {"TARGET_LEG": "TARGET", "STOP_LOSS_LEG": "STOP_LOSS"}
REASON_WORDS = {
    "TARGET": "target",
    "STOP_LOSS": "stop-loss",
    "TRAILING": "trailing",
    "SQUARE_OFF": "square-off",
    "FLATTEN": "flatten",
    "KILL": "kill",
    "DAILY_LOSS": "daily loss",
    "STALE_PRICE": "stale price",
    "DUPLICATE": "duplicate entry closed",
}


@dataclass(frozen=True, slots=True)
class Trade:
    underlying: str
    security_id: str
    contract: str  # "NIFTY 24200 CE 22-Sep"
    lots: int
    quantity: int
    entries: int  # buy orders (1 + pyramids)
    entry_at: datetime
    entry_price: Decimal  # average
    exit_at: datetime | None
    exit_price: Decimal | None  # average; None while open
    exit_reason: str | None
    gross: Decimal
    charges: Decimal
    super_order_entry: bool = False  # the day's books say; a backtest's trades document does not

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges

    @property
    def closed(self) -> bool:
        return self.exit_at is not None


@dataclass(frozen=True, slots=True)
class UnfilledEntry:
    """An entry order the broker accepted that never traded: no position, no money moved."""

    client_order_id: str
    contract: str
    order_type: str  # LIMIT or MARKET
    quantity: int
    price: Decimal | None  # the limit
    placed_at: datetime
    status: str  # the broker's last word: PENDING (still resting), CANCELLED, EXPIRED, ...
    ended_at: datetime | None  # when it was cancelled or expired

    @property
    def why(self) -> str:
        """Why it never filled, in words."""
        limit = f"its limit ₹{self.price:.2f}" if self.price is not None else "its price"
        if self.status == "CANCELLED":
            when = f" at {_hms(self.ended_at)}" if self.ended_at else ""
            return f"cancelled{when} before the market reached {limit}"
        if self.status == "EXPIRED":
            return f"expired at the close: the market never reached {limit}"
        return f"still resting at the broker when the day ended ({self.status}): never reached {limit}"


NOT_CHECKED = "not checked against the broker"

NEVER_FILLED_MEANS = (
    "entry orders the broker accepted that never traded. A LIMIT entry waits at its price (the ask "
    "when it was placed); if the market moves away it does not fill, and it is cancelled (by the "
    "exit protocol, a kill or the square-off) or expires at the close. No position, no charges."
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class SignalSummary:
    bars_decided: int  # every bar close of every underlying, NEUTRAL included
    signals: int  # BULLISH or BEARISH: published to execution
    acted: int  # an entry was placed
    refused: dict[str, int]  # by gate
    refusal_examples: dict[str, str]  # one reason text per gate
    undecided: int  # published, no decision recorded


class DayInfo(Protocol):
    """What a report says about its day: `RunInfo` (`sarathi run`) or a deployed day (`sarathi report`)."""

    @property
    def day(self) -> date: ...
    @property
    def seed(self) -> int | None: ...
    @property
    def prices(self) -> str:
        """The report's first line: where the day's prices came from (`sarathi.cli.prices`)."""

    @property
    def title(self) -> str: ...
    @property
    def headline(self) -> str:
        """The text report's second line: the title and how the day was run."""

    @property
    def about(self) -> str:
        """The HTML's line under the title."""

    @property
    def stem(self) -> str:
        """The report files' name without suffix: `sarathi-day-<day>-<source>`."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A simulated day of `sarathi run`."""

    day: date
    seed: int
    speed: Decimal
    wall_seconds: float
    market_seconds: float
    recording: str | None = None  # the feed recording the sim played back; None: its synthetic market

    @property
    def prices(self) -> str:
        """The report's first line: where the day's prices came from."""
        if self.recording is not None:
            return prices_line(PriceSource.RECORDING, Path(self.recording).name)
        return prices_line(PriceSource.SIM, f"seed {self.seed}")

    @property
    def title(self) -> str:
        return f"Sarathi — simulated day {self.day:%a %d %b %Y}"

    @property
    def headline(self) -> str:
        return (
            f"{self.title}, seed {self.seed}, {self.speed}× "
            f"({self.market_seconds:,.0f} market s in {self.wall_seconds:.0f} wall s)"
        )

    @property
    def about(self) -> str:
        return (
            f"seed {self.seed}, {self.speed}× — {self.market_seconds:,.0f} market seconds in "
            f"{self.wall_seconds:.0f} wall seconds."
        )

    @property
    def stem(self) -> str:
        return f"sarathi-day-{self.day}-seed{self.seed}"


@dataclass(frozen=True, slots=True)
class DayReport:
    info: DayInfo
    trades: tuple[Trade, ...]
    signals: SignalSummary
    checks: tuple[Check, ...] | None  # None: not checked against the broker (no broker's books)
    index: tuple[tuple[datetime, Decimal], ...]  # NIFTY through the day, for the chart
    equity: tuple[tuple[datetime, Decimal], ...]  # realised net P&L after each trade
    orders_sent: int
    unfilled_entries: tuple[UnfilledEntry, ...]  # entry orders never filled
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def gross(self) -> Decimal:
        return sum((t.gross for t in self.trades), ZERO)

    @property
    def charges(self) -> Decimal:
        return sum((t.charges for t in self.trades), ZERO)

    @property
    def net(self) -> Decimal:
        return self.gross - self.charges

    @property
    def wins(self) -> int:
        return sum(1 for t in self.trades if t.closed and t.net > 0)

    @property
    def win_rate(self) -> float | None:
        closed = sum(1 for t in self.trades if t.closed)
        return None if closed == 0 else self.wins / closed

    @property
    def max_drawdown(self) -> Decimal:
        """The largest fall of realised net P&L from an earlier peak (0 included as the start)."""
        peak, worst = ZERO, ZERO
        for _, value in self.equity:
            peak = max(peak, value)
            worst = max(worst, peak - value)
        return worst

    @property
    def books_match(self) -> bool:
        """Checked against the broker, and every check passed."""
        return self.checks is not None and all(c.ok for c in self.checks)

    @property
    def books_line(self) -> str:
        """Our books against the broker's, in a few words: the summary's "Our books"."""
        if self.checks is None:
            return NOT_CHECKED
        if self.books_match:
            return "match the broker's"
        return "DIFFER from the broker's: " + ", ".join(c.name for c in self.checks if not c.ok)


# -- building ---------------------------------------------------------------------------------


def build_report(
    books: Books,
    broker: Mapping[str, Any] | None,
    info: DayInfo,
    index: Sequence[tuple[datetime, Decimal]] = (),
    calculator: ChargesCalculator | None = None,
) -> DayReport:
    """`broker` is the `broker` object of the sim's `GET /sim/state` (Dhan's REST shapes); None:
    no broker's books to check ours against (the report's checks are None)."""
    calculator = calculator or ChargesCalculator()
    trades, walk_notes = _trades(books, calculator, info.day)
    equity, total = [], ZERO
    for trade in sorted((t for t in trades if t.exit_at is not None), key=lambda t: t.exit_at or t.entry_at):
        total += trade.net
        equity.append((trade.exit_at or trade.entry_at, total))
    unfilled = tuple(
        UnfilledEntry(
            client_order_id=o.client_order_id,
            contract=_contract_name(books, o.security_id),
            order_type=o.order_type,
            quantity=o.quantity,
            price=o.price,
            placed_at=o.created_at,
            status=o.status,
            ended_at=o.updated_at if o.status in ("CANCELLED", "EXPIRED") else None,
        )
        for o in books.orders
        if o.leg_name == "ENTRY_LEG" and o.filled_quantity == 0 and o.status != "REJECTED"
    )
    return DayReport(
        info=info,
        trades=tuple(trades),
        signals=_signals(books),
        checks=None if broker is None else tuple(reconcile(books, broker, trades)),
        index=tuple(index),
        equity=tuple(equity),
        orders_sent=sum(1 for o in books.orders if o.leg_name not in ("TARGET_LEG", "STOP_LOSS_LEG")),
        unfilled_entries=unfilled,
        notes=tuple(walk_notes),
    )


def _trades(books: Books, calculator: ChargesCalculator, day: date) -> tuple[list[Trade], list[str]]:
    orders = {o.client_order_id: o for o in books.orders}
    trackers = {t.entry_order_id: t for t in books.trackers}
    by_contract: dict[str, list[FillRecord]] = defaultdict(list)
    for fill in books.fills:
        by_contract[fill.security_id].append(fill)
    trades: list[Trade] = []
    notes: list[str] = []
    context: dict[str, Any] = {
        "books": books,
        "orders": orders,
        "trackers": trackers,
        "calculator": calculator,
        "day": day,
    }
    for security_id, fills in by_contract.items():
        net, cycle = 0, []
        for fill in sorted(fills, key=lambda f: f.traded_at):
            cycle.append(fill)
            net += fill.quantity if fill.side == "BUY" else -fill.quantity
            if net < 0:
                notes.append(f"SHORT: our fills of {security_id} net to {net} at {_hms(fill.traded_at)}")
            if net <= 0:
                trades.append(_trade(security_id, cycle, **context))
                net, cycle = 0, []
        if cycle:
            trades.append(_trade(security_id, cycle, **context))
    trades.sort(key=lambda t: t.entry_at)
    return trades, notes


def _trade(
    security_id: str,
    fills: list[FillRecord],
    *,
    books: Books,
    orders: Mapping[str, OrderRecord],
    trackers: Mapping[str, Any],
    calculator: ChargesCalculator,
    day: date,
) -> Trade:
    buys = [f for f in fills if f.side == "BUY"]
    sells = [f for f in fills if f.side == "SELL"]
    bought = sum(f.quantity for f in buys)
    sold = sum(f.quantity for f in sells)
    buy_value = sum((f.price * f.quantity for f in buys), ZERO)
    sell_value = sum((f.price * f.quantity for f in sells), ZERO)
    first = orders.get(buys[0].client_order_id) if buys else None
    contract = books.contracts.get(security_id)
    underlying = contract.underlying if contract else (first.security_id if first else "?")
    closed = bought > 0 and sold >= bought
    reason = _exit_reason(first, sells, orders, trackers) if closed else None
    pnl = trade_pnl(
        [TradeFill(f.client_order_id, Side(f.side), f.quantity, f.price) for f in fills],
        _exchange(underlying),
        day,
        calculator,
    )
    lot = contract.lot_size if contract else 1
    return Trade(
        underlying=underlying,
        security_id=security_id,
        contract=_contract_name(books, security_id),
        lots=bought // lot if lot else bought,
        quantity=bought,
        entries=len({f.client_order_id for f in buys}),
        super_order_entry=first is not None and first.leg_name == "ENTRY_LEG",
        entry_at=buys[0].traded_at if buys else fills[0].traded_at,
        entry_price=(buy_value / bought).quantize(PAISA) if bought else ZERO,
        exit_at=sells[-1].traded_at if closed else None,
        exit_price=(sell_value / sold).quantize(PAISA) if closed and sold else None,
        exit_reason=reason,
        gross=pnl.gross,
        charges=pnl.charges,
    )


def _exchange(underlying: str) -> Exchange:
    try:
        return Underlying(underlying).spec.exchange
    except ValueError:
        return Exchange.NSE


def _exit_reason(
    first: OrderRecord | None,
    sells: list[FillRecord],
    orders: Mapping[str, OrderRecord],
    trackers: Mapping[str, Any],
) -> str | None:
    tracker = trackers.get(first.command_id) if first else None
    if tracker is not None and tracker.exit_reason:
        return str(tracker.exit_reason)
    last = orders.get(sells[-1].client_order_id) if sells else None
    if last is None:
        return None
    return last.exit_reason or LEG_REASONS.get(last.leg_name or "")


def _contract_name(books: Books, security_id: str) -> str:
    c = books.contracts.get(security_id)
    if c is None:
        return security_id
    return contract_name(c.underlying, c.strike, c.option_type, c.expiry)


def _signals(books: Books) -> SignalSummary:
    published = [s for s in books.signals if s.direction != "NEUTRAL"]
    decided = {d.signal_id: d for d in books.decisions}
    refused: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for d in books.decisions:
        if d.outcome == "REFUSED":
            gate = d.gate or "other"
            refused[gate] += 1
            examples.setdefault(gate, d.reason or "")
    return SignalSummary(
        bars_decided=len(books.signals),
        signals=len(published),
        acted=sum(1 for d in books.decisions if d.outcome == "PLACED"),
        refused=dict(refused.most_common()),
        refusal_examples=examples,
        undecided=sum(1 for s in published if s.signal_id not in decided),
    )


# -- our books against the broker's -------------------------------------------------------------


def reconcile(books: Books, broker: Mapping[str, Any], trades: Iterable[Trade] = ()) -> list[Check]:
    """Orders, fills, positions and realised P&L: ours against the broker's, and the invariants."""
    theirs = {str(o["orderId"]): o for o in broker.get("orders", [])}
    return [
        _check_orders(books, theirs),
        _check_fills(books, broker.get("trades", [])),
        _check_positions(books, broker.get("positions", [])),
        _check_pnl(books, broker.get("positions", [])),
        _check_duplicates(broker.get("orders", [])),
        _check_never_short(books, broker.get("positions", []), trades),
    ]


def _check_orders(books: Books, theirs: Mapping[str, Mapping[str, Any]]) -> Check:
    ours = {o.broker_order_id: o for o in books.orders if o.broker_order_id}
    problems = [
        f"{o.client_order_id}: never reached the broker" for o in books.orders if not o.broker_order_id
    ]
    for order_id, mine in ours.items():
        other = theirs.get(order_id)
        if other is None:
            problems.append(f"{mine.client_order_id}: broker has no order {order_id}")
        elif (mine.status, mine.filled_quantity) != (other["orderStatus"], int(other["filledQty"])):
            problems.append(
                f"{mine.client_order_id}: ours {mine.status}/{mine.filled_quantity}, "
                f"broker {other['orderStatus']}/{other['filledQty']}"
            )
    problems += [
        f"broker order {oid} ({o['correlationId']}) not in ours"
        for oid, o in theirs.items()
        if oid not in ours
    ]
    return Check("orders", not problems, _detail(problems, f"{len(ours)} orders, status and filled quantity"))


def _check_fills(books: Books, trades: Sequence[Mapping[str, Any]]) -> Check:
    def totals(rows: Iterable[tuple[str, int, Decimal]]) -> dict[str, tuple[int, Decimal]]:
        out: dict[str, tuple[int, Decimal]] = {}
        for order_id, qty, price in rows:
            q, v = out.get(order_id, (0, ZERO))
            out[order_id] = (q + qty, v + price * qty)
        return out

    ours = totals((f.broker_order_id or "?", f.quantity, f.price) for f in books.fills)
    theirs = totals((str(t["orderId"]), int(t["tradedQuantity"]), _money(t["tradedPrice"])) for t in trades)
    problems = [
        f"order {oid}: ours {ours.get(oid)}, broker {theirs.get(oid)}"
        for oid in sorted(set(ours) | set(theirs))
        if _rounded(ours.get(oid)) != _rounded(theirs.get(oid))
    ]
    summary = f"{len(books.fills)} fills over {len(ours)} orders, quantity and value"
    return Check("fills", not problems, _detail(problems, summary))


def net_by_contract(books: Books) -> dict[str, tuple[int, int, Decimal, Decimal]]:
    """(bought, sold, buy value, sell value) per contract from our fills."""
    out: dict[str, tuple[int, int, Decimal, Decimal]] = {}
    for f in books.fills:
        b, s, bv, sv = out.get(f.security_id, (0, 0, ZERO, ZERO))
        if f.side == "BUY":
            out[f.security_id] = (b + f.quantity, s, bv + f.price * f.quantity, sv)
        else:
            out[f.security_id] = (b, s + f.quantity, bv, sv + f.price * f.quantity)
    return out


def _check_positions(books: Books, positions: Sequence[Mapping[str, Any]]) -> Check:
    ours = {k: b - s for k, (b, s, _, _) in net_by_contract(books).items()}
    theirs = {str(p["securityId"]): int(p["netQty"]) for p in positions}
    problems = [
        f"{sid}: ours {ours.get(sid, 0)}, broker {theirs.get(sid, 0)}"
        for sid in sorted(set(ours) | set(theirs))
        if ours.get(sid, 0) != theirs.get(sid, 0)
    ]
    open_ = sum(1 for q in theirs.values() if q)
    summary = f"{len(theirs)} contracts, net quantity; {open_} open at the broker"
    return Check("positions", not problems, _detail(problems, summary))


def _check_pnl(books: Books, positions: Sequence[Mapping[str, Any]]) -> Check:
    problems = []
    ours_total = theirs_total = ZERO
    mine = net_by_contract(books)
    for p in positions:
        sid = str(p["securityId"])
        b, s, bv, sv = mine.get(sid, (0, 0, ZERO, ZERO))
        realised = _realised(b, s, bv, sv)
        broker_realised = _money(p["realizedProfit"])
        ours_total += realised
        theirs_total += broker_realised
        if abs(realised - broker_realised) > PAISA:
            problems.append(f"{sid}: ours {format_inr(realised)}, broker {format_inr(broker_realised)}")
    summary = f"realised gross {format_inr(ours_total)} (broker {format_inr(theirs_total)})"
    return Check("realised P&L", not problems, _detail(problems, summary))


def _realised(bought: int, sold: int, buy_value: Decimal, sell_value: Decimal) -> Decimal:
    """Realised P&L on average cost: the units sold, at their sell average less the buy average."""
    if not bought or not sold:
        return ZERO
    return (sell_value / sold - buy_value / bought) * min(bought, sold)


def duplicate_orders(orders: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], int]:
    """(correlation id, leg) → number of broker orders, for those the broker holds more than once.

    A plain order (leg "NA") and a super order's entry are both the order a command placed: one
    of each under one correlation id is a duplicate too.
    """
    seen = Counter((str(o["correlationId"]), _placed_leg(o.get("legName"))) for o in orders)
    return {key: n for key, n in seen.items() if n > 1}


def _placed_leg(leg: Any) -> str:
    return "ENTRY_LEG" if leg in (None, "", "NA", "ENTRY_LEG") else str(leg)


def short_at_broker(positions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """security id → how the broker's position in it went short (net below zero, or sold > bought)."""
    short: dict[str, str] = {}
    for p in positions:
        if int(p["netQty"]) < 0:
            short[str(p["securityId"])] = f"net {p['netQty']}"
        elif int(p["sellQty"]) > int(p["buyQty"]):
            short[str(p["securityId"])] = f"sold {p['sellQty']} > bought {p['buyQty']}"
    return short


def _check_duplicates(orders: Sequence[Mapping[str, Any]]) -> Check:
    seen = {(str(o["correlationId"]), _placed_leg(o.get("legName"))) for o in orders}
    twice = [f"{cid} {leg}: {n} orders" for (cid, leg), n in duplicate_orders(orders).items()]
    return Check(
        "no duplicate order", not twice, _detail(twice, f"{len(seen)} correlation ids, one order each")
    )


def _check_never_short(
    books: Books, positions: Sequence[Mapping[str, Any]], trades: Iterable[Trade]
) -> Check:
    short = [f"broker {sid}: {how}" for sid, how in short_at_broker(positions).items()]
    for trade in trades:
        if trade.exit_at is not None and trade.quantity == 0:
            short.append(f"{trade.contract}: sold without buying")
    return Check("never short", not short, _detail(short, "no contract ever sold below zero"))


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _rounded(pair: tuple[int, Decimal] | None) -> tuple[int, Decimal] | None:
    return None if pair is None else (pair[0], pair[1].quantize(PAISA))


def _detail(problems: list[str], summary: str) -> str:
    if not problems:
        return summary
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


# -- text -----------------------------------------------------------------------------------------


def _hms(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(IST).strftime("%H:%M:%S")


def render_text(report: DayReport) -> str:
    """The summary first, then the trades, the entries that never filled, the signals, the checks."""
    from sarathi.cli.control import table

    info = report.info
    closed = sum(1 for t in report.trades if t.closed)
    rate = "-" if report.win_rate is None else f"{report.win_rate:.0%}"
    lines = [
        info.prices,
        info.headline,
        "",
        "Summary",
        f"  P&L           net {format_inr(report.net)}  "
        f"(gross {format_inr(report.gross)}, charges {format_inr(report.charges)})",
        f"  Trades        {len(report.trades)}: {report.wins} won of {closed} closed, win rate {rate}"
        + (f", {len(report.trades) - closed} open" if closed < len(report.trades) else ""),
        f"  Max drawdown  {format_inr(report.max_drawdown)} (realised, net of charges)",
        f"  Orders sent   {report.orders_sent} (entries and exits; super-order legs not counted)",
        f"  Never filled  {len(report.unfilled_entries)} entry order(s)"
        + (" (below)" if report.unfilled_entries else ""),
        f"  Our books     {report.books_line}",
        "",
        f"Trades ({len(report.trades)})",
    ]
    rows = [
        [
            t.contract.ljust(CONTRACT_WIDTH),
            t.lots,
            t.entries,
            _hms(t.entry_at),
            f"{t.entry_price:.2f}",
            _hms(t.exit_at),
            "-" if t.exit_price is None else f"{t.exit_price:.2f}",
            REASON_WORDS.get(t.exit_reason or "", t.exit_reason or "open"),
            f"{t.gross:.2f}",
            f"{t.net:.2f}",
        ]
        for t in report.trades
    ]
    headers = (
        "contract".ljust(CONTRACT_WIDTH), "lots", "buys", "entry", "price", "exit", "price", "reason",
        "gross", "net",
    )  # fmt: skip
    lines.append(table(headers, rows) if rows else "  none")
    if report.unfilled_entries:
        lines += ["", *wrap(f"Never filled ({len(report.unfilled_entries)}): {NEVER_FILLED_MEANS}", 100)]
        for u in report.unfilled_entries:
            price = "" if u.price is None else f" at {u.price:.2f}"
            lines.append(
                f"  {u.contract:<{CONTRACT_WIDTH}}  {u.order_type} buy {u.quantity}{price}, "
                f"placed {_hms(u.placed_at)} ({u.client_order_id}): {u.why}"
            )
    s = report.signals
    lines += [
        "",
        f"Signals       {s.signals} signals at {s.bars_decided} bar closes; {s.acted} acted on, "
        f"{sum(s.refused.values())} refused" + (f", {s.undecided} never decided" if s.undecided else ""),
    ]
    for gate, count in s.refused.items():
        lines.append(f"  {count:>4} × {gate:<14} e.g. {s.refusal_examples.get(gate, '')}")
    if report.checks is None:
        lines += ["", f"Our books: {NOT_CHECKED} (read from the database alone)"]
    else:
        lines += ["", "Our books against the broker's (GET /sim/state)"]
        for check in report.checks:
            lines.append(f"  {'ok ' if check.ok else 'DIFF'}  {check.name:<18} {check.detail}")
    for note in report.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
