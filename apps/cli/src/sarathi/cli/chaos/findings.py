"""What a fault trial looks for once the system has settled: our books against the broker's.

Pure: from our records (`sarathi.cli.books.Books`) and the broker's `GET /sim/state` books
(`orders`, `trades`, `positions` in Dhan's REST shapes) to a list of findings, each with a key
that names what it is about, so a finding that stays (books are cumulative over a day) is
counted once however many later trials see it again.

- divergence: a failed check of `sarathi.cli.report.reconcile` (orders, fills, positions,
  realised P&L: what `sarathi run` checks), or risk's trackers not holding what the broker holds;
- duplicate: two broker orders under one of our correlation ids and leg;
- short: a contract sold below zero, at the broker or in our fills;
- fill lost: a broker trade not covered by the fills we recorded for its order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sarathi.cli.books import Books
from sarathi.cli.report import duplicate_orders, net_by_contract, reconcile, short_at_broker

# The checks of `reconcile` that compare our books with the broker's (the others are counted
# on their own below: duplicates and short positions).
PNL_CHECK = "realised P&L"
BOOK_CHECKS = ("orders", "fills", "positions", PNL_CHECK)
CLOSED = "CLOSED"


class Kind(StrEnum):
    DIVERGENCE = "divergence"
    DUPLICATE = "duplicate"
    SHORT = "short"
    FILL_LOST = "fill lost"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    key: str  # what it is about; the same problem seen again has the same key
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.key}: {self.detail}"


def compare(books: Books, broker: Mapping[str, Any]) -> list[Finding]:
    """Every finding of a settled system, divergences first."""
    return [
        *divergences(books, broker),
        *duplicates(broker.get("orders", [])),
        *shorts(books, broker.get("positions", [])),
        *fills_lost(books, broker.get("trades", [])),
    ]


def divergences(books: Books, broker: Mapping[str, Any]) -> list[Finding]:
    """The failed book checks of `reconcile`, then risk's trackers.

    Realised P&L is compared on the contracts flat at the broker only: mid-day the paper broker
    books it on a moving average cost and `reconcile` on the day's averages (what the end-of-day
    report needs), which agree once a contract is flat, not while it is open after a round trip.
    """
    positions = broker.get("positions", [])
    flat = {**broker, "positions": [p for p in positions if int(p["netQty"]) == 0]}
    checks = [c for c in reconcile(books, broker) if c.name != PNL_CHECK]
    checks += [c for c in reconcile(books, flat) if c.name == PNL_CHECK]
    found = [Finding(Kind.DIVERGENCE, c.name, c.detail) for c in checks if c.name in BOOK_CHECKS and not c.ok]
    return found + trackers(books, positions)


def trackers(books: Books, positions: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Risk's open trackers against the broker's net quantity, contract by contract.

    The broker nets a contract, so risk holds at most one open (or closing) tracker per contract,
    with the broker's net quantity; a flat contract has none.
    """
    held: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for tracker in books.trackers:
        if tracker.status != CLOSED:
            held[tracker.security_id] += tracker.quantity
            count[tracker.security_id] += 1
    broker = {str(p["securityId"]): int(p["netQty"]) for p in positions}
    found = []
    for sid in sorted(set(held) | set(broker)):
        if held.get(sid, 0) != broker.get(sid, 0):
            detail = f"risk tracks {held.get(sid, 0)}, the broker holds {broker.get(sid, 0)}"
            found.append(Finding(Kind.DIVERGENCE, f"trackers {sid}", detail))
        elif count.get(sid, 0) > 1:
            detail = f"{count[sid]} open trackers for one netted position"
            found.append(Finding(Kind.DIVERGENCE, f"trackers {sid}", detail))
    return found


def duplicates(orders: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """One finding per (correlation id, leg) the broker holds more than one order under."""
    ids: dict[str, list[str]] = defaultdict(list)
    for order in orders:
        ids[str(order["correlationId"])].append(f"{order['orderId']} {order.get('legName', '')}")
    return [
        Finding(Kind.DUPLICATE, f"{cid} {leg}", f"{n} broker orders: {', '.join(ids[cid])}")
        for (cid, leg), n in sorted(duplicate_orders(orders).items())
    ]


def shorts(books: Books, positions: Sequence[Mapping[str, Any]]) -> list[Finding]:
    found = [
        Finding(Kind.SHORT, f"broker {sid}", how) for sid, how in sorted(short_at_broker(positions).items())
    ]
    for sid, (bought, sold, _, _) in sorted(net_by_contract(books).items()):
        if sold > bought:
            found.append(Finding(Kind.SHORT, f"ours {sid}", f"our fills sold {sold}, bought {bought}"))
    return found


def fills_lost(books: Books, trades: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Broker trades beyond the quantity we recorded for their order, in the order they traded.

    Our fill keys are not always the broker's trade ids (a fill learnt from a cumulative quantity
    is keyed by it), so trades are matched by quantity: an order's trades, oldest first, are
    covered by the quantity our fills of that order add up to.
    """
    recorded: dict[str, int] = defaultdict(int)
    for fill in books.fills:
        recorded[fill.broker_order_id or ""] += fill.quantity
    by_order: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for trade in trades:
        by_order[str(trade["orderId"])].append(trade)
    found = []
    for order_id in sorted(by_order):
        done = 0
        for trade in sorted(by_order[order_id], key=_when):
            done += int(trade["tradedQuantity"])
            if done > recorded.get(order_id, 0):
                trade_id = str(trade.get("exchangeTradeId", "?"))
                detail = (
                    f"{trade['tradedQuantity']} @ {trade['tradedPrice']} of order {order_id} "
                    f"(we recorded {recorded.get(order_id, 0)} of its first {done})"
                )
                found.append(Finding(Kind.FILL_LOST, f"{order_id}/{trade_id}", detail))
    return found


def _when(trade: Mapping[str, Any]) -> tuple[str, str]:
    return str(trade.get("exchangeTime", "")), str(trade.get("exchangeTradeId", "")).zfill(32)
