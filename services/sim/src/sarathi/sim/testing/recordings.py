"""Builders of small feed recordings for replay tests (frames made with the shared codec)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sarathi.common.dhan import feed_codec as codec
from sarathi.common.dhan.recording import RecordingWriter
from sarathi.sim.instruments import SimInstrument

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Frame = tuple[datetime, bytes]
"""(receive instant, the message's bytes)"""


def received_ns(at: datetime) -> int:
    """The recording's receive time (UTC epoch nanoseconds) of an aware instant, microsecond-exact."""
    return (at - _EPOCH) // timedelta(microseconds=1) * 1_000


def write_recording(path: Path, frames: Iterable[Frame]) -> Path:
    writer = RecordingWriter(path).open()
    try:
        for at, frame in frames:
            writer.write(received_ns(at), frame)
    finally:
        writer.close()
    return path


def paise(value: Decimal | str) -> int:
    return int(Decimal(value) * 100)


def _ids(instrument: SimInstrument) -> tuple[int, int]:
    return instrument.segment.code, int(instrument.security_id)


def ticker(instrument: SimInstrument, ltp: str, at: datetime) -> bytes:
    return codec.encode(codec.Ticker(*_ids(instrument), paise(ltp), int(at.timestamp())))


def prev_close(instrument: SimInstrument, close: str, prev_oi: int = 0) -> bytes:
    return codec.encode(codec.PrevClose(*_ids(instrument), paise(close), prev_oi))


def open_interest(instrument: SimInstrument, oi: int) -> bytes:
    return codec.encode(codec.OpenInterest(*_ids(instrument), oi))


def market_status() -> bytes:
    return codec.encode(codec.MarketStatus(0, 0))


def quote(instrument: SimInstrument, ltp: str, at: datetime, *, volume: int = 0) -> bytes:
    value = paise(ltp)
    return codec.encode(
        codec.Quote(
            *_ids(instrument), ltp_paise=value, ltq=instrument.lot_size, ltt_epoch=int(at.timestamp()),
            atp_paise=value, volume=volume, total_sell_qty=0, total_buy_qty=0, open_paise=value,
            close_paise=0, high_paise=value, low_paise=value,
        )
    )  # fmt: skip


def full(
    instrument: SimInstrument,
    ltp: str,
    bid: str,
    ask: str,
    at: datetime,
    *,
    volume: int = 0,
    oi: int = 0,
    quantity: int = 650,
) -> bytes:
    """A full packet whose book steps one tick away from `bid` / `ask` per level."""
    tick = instrument.tick_size
    levels: Sequence[codec.DepthLevel] = [
        codec.DepthLevel(
            bid_qty=quantity * (k + 1),
            ask_qty=quantity * (k + 1),
            bid_orders=k + 1,
            ask_orders=k + 1,
            bid_paise=paise(Decimal(bid) - tick * k),
            ask_paise=paise(Decimal(ask) + tick * k),
        )
        for k in range(5)
    ]
    value = paise(ltp)
    return codec.encode(
        codec.Full(
            *_ids(instrument), ltp_paise=value, ltq=instrument.lot_size, ltt_epoch=int(at.timestamp()),
            atp_paise=value, volume=volume, total_sell_qty=sum(d.ask_qty for d in levels),
            total_buy_qty=sum(d.bid_qty for d in levels), oi=oi, oi_day_high=oi, oi_day_low=oi,
            open_paise=value, close_paise=0, high_paise=value, low_paise=value, depth=tuple(levels),
        )
    )  # fmt: skip
