"""The pyramiding book survives a restart as a JSON snapshot in KV `control`, key `execution_book`.

Written by execution only, after each change and before the message that caused it is acked.
On start the snapshot is loaded, then the durable consumers resume after the last acked event;
an event applied twice (crash between snapshot and ack) changes nothing (`PositionBook` counts
events by id).
"""

from __future__ import annotations

import json
from collections import deque
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sarathi.common.bus.port import Bus
from sarathi.common.domain.instruments import OptionType, Underlying
from sarathi.execution.domain.book import Campaign, HeldPosition, PendingEntry, PositionBook, StopLevel

BOOK_KEY = "execution_book"


def _opt(value: OptionType | None) -> str | None:
    return None if value is None else value.value


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def dump(book: PositionBook) -> bytes:
    document = {
        "positions": [
            {"security_id": p.security_id, "segment": p.segment, "underlying": p.underlying.value,
             "option_type": _opt(p.option_type), "net_quantity": p.net_quantity,
             "average_price": str(p.average_price)}
            for p in book.positions.values()
        ],
        "pending": [
            {"command_id": e.command_id, "security_id": e.security_id, "underlying": e.underlying.value,
             "option_type": e.option_type.value, "bar_close": e.bar_close.isoformat(), "quantity": e.quantity,
             "entry_price": str(e.entry_price), "submitted_at": e.submitted_at.isoformat(),
             "stop_fill": _str(e.stop_fill), "loss_at_stop": _str(e.loss_at_stop)}
            for e in book.pending.values()
        ],
        "stops": {
            security_id: [{"quantity": level.quantity, "stop_fill": str(level.stop_fill)} for level in levels]
            for security_id, levels in book.stops.items()
        },
        "campaigns": {
            u.value: {"option_type": _opt(c.option_type), "entries": c.entries,
                      "last_bar": c.last_bar.isoformat() if c.last_bar else None}
            for u, c in book.campaigns.items()
        },
        "daily_loss_day": book.daily_loss_day.isoformat() if book.daily_loss_day else None,
        "seen_events": list(book.seen_events),
    }  # fmt: skip
    return json.dumps(document).encode()


def _option_type(value: Any) -> OptionType | None:
    return None if value is None else OptionType(value)


def load(data: bytes) -> PositionBook:
    doc = json.loads(data)
    book = PositionBook()
    for p in doc["positions"]:
        book.positions[p["security_id"]] = HeldPosition(
            p["security_id"], p["segment"], Underlying(p["underlying"]), _option_type(p["option_type"]),
            int(p["net_quantity"]), Decimal(p["average_price"]),
        )  # fmt: skip
    for e in doc["pending"]:
        book.pending[e["command_id"]] = PendingEntry(
            e["command_id"], e["security_id"], Underlying(e["underlying"]), OptionType(e["option_type"]),
            datetime.fromisoformat(e["bar_close"]), int(e["quantity"]), Decimal(e["entry_price"]),
            datetime.fromisoformat(e["submitted_at"]), _decimal(e.get("stop_fill")),
            _decimal(e.get("loss_at_stop")),
        )  # fmt: skip
    for security_id, levels in doc.get("stops", {}).items():  # absent in snapshots before the loss bound
        book.stops[security_id] = [StopLevel(int(x["quantity"]), Decimal(x["stop_fill"])) for x in levels]
    for name, c in doc["campaigns"].items():
        last_bar = datetime.fromisoformat(c["last_bar"]) if c["last_bar"] else None
        book.campaigns[Underlying(name)] = Campaign(
            _option_type(c["option_type"]), int(c["entries"]), last_bar
        )
    book.daily_loss_day = date.fromisoformat(doc["daily_loss_day"]) if doc["daily_loss_day"] else None
    book.seen_events = deque(doc["seen_events"], maxlen=book.seen_events.maxlen)
    return book


class BookStore:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def load(self) -> PositionBook:
        entry = await self._bus.kv_get(BOOK_KEY)
        return PositionBook() if entry is None or not entry.value else load(entry.value)

    async def save(self, book: PositionBook) -> None:
        await self._bus.kv_put(BOOK_KEY, dump(book))
