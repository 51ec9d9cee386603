"""Dhan market-feed v2 binary packets: one table of layouts; decode (feed) and encode (sim).

Facts: `shared/dhan/REFERENCE.md` §6.4–6.9. Every packet starts with an 8-byte little-endian
header (code u8, length u16 including the header, segment u8, security id u32). Prices are
float32; they are converted once, here, to integer paise (`round(value × 100)`), Decimal-safe
downstream. That is exact for any price below ₹131,072 (2^17, where a float32 step is still
under half a paisa): every index we trade and every premium; above it the float32 itself has
already lost the paisa. Last-trade times arrive as
"IST-shifted" epochs (true UTC epoch + 19 800 s); decoded packets carry the true UTC epoch.

A WebSocket message may hold several packets back to back; `FeedDecoder.decode` walks the whole
buffer by the length field. Unknown packet codes are counted and skipped; a truncated packet is
counted and ends the walk of that message. Nothing in here raises on bad input.

UNVERIFIED (REFERENCE §6.5): the market-status payload (we read and write the header only), and
whether LTQ is signed (the SDK reads uint16; so do we).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

IST_SHIFT_SECONDS = 19_800


class FeedCode(IntEnum):
    HEARTBEAT = 0  # community clients treat code 0 as an ack/heartbeat (REFERENCE §6.4)
    TICKER = 2
    QUOTE = 4
    OI = 5
    PREV_CLOSE = 6
    MARKET_STATUS = 7
    FULL = 8
    DISCONNECT = 50


# --- the one table of layouts (REFERENCE §6.5) ----------------------------------------------
# Each field: (name, kind), little-endian, in wire order. Kinds: u1/u2/u4 unsigned integers,
# f4 a float32 price (every float of the feed is a price, converted to paise). The codec's
# structs, the feed's numpy batch decoder and (through `encode`) the sim's packets derive from it.

Layout = tuple[tuple[str, str], ...]
STRUCT_CODES = {"u1": "B", "u2": "H", "u4": "I", "f4": "f"}
PRICE_KIND = "f4"
HEADER_FIELDS: Layout = (("code", "u1"), ("length", "u2"), ("segment", "u1"), ("security_id", "u4"))
DEPTH_FIELDS: Layout = (
    ("bid_qty", "u4"), ("ask_qty", "u4"), ("bid_orders", "u2"), ("ask_orders", "u2"),
    ("bid", "f4"), ("ask", "f4"),
)  # fmt: skip
DEPTH_LEVELS = 5  # in a full packet, after its body
_QUOTE_HEAD: Layout = (
    ("ltp", "f4"), ("ltq", "u2"), ("ltt", "u4"), ("atp", "f4"), ("volume", "u4"), ("sell_qty", "u4"),
    ("buy_qty", "u4"),
)  # fmt: skip
_OHLC: Layout = (("open", "f4"), ("close", "f4"), ("high", "f4"), ("low", "f4"))
BODIES: dict[FeedCode, Layout] = {
    FeedCode.TICKER: (("ltp", "f4"), ("ltt", "u4")),
    FeedCode.PREV_CLOSE: (("prev_close", "f4"), ("prev_oi", "u4")),
    FeedCode.OI: (("oi", "u4"),),
    FeedCode.QUOTE: _QUOTE_HEAD + _OHLC,
    FeedCode.FULL: (*_QUOTE_HEAD, ("oi", "u4"), ("oi_high", "u4"), ("oi_low", "u4"), *_OHLC),
    FeedCode.MARKET_STATUS: (),  # UNVERIFIED payload: the header only
    FeedCode.DISCONNECT: (("reason", "u2"),),
}
"""Fields after the 8-byte header, per packet code (a full packet then has `DEPTH_LEVELS` levels)."""


def layout(code: FeedCode) -> Layout:
    """Every field of a packet, header first; depth fields carry their level (`bid0` … `ask4`)."""
    depth = DEPTH_LEVELS if code is FeedCode.FULL else 0
    levels = tuple((f"{name}{level}", kind) for level in range(depth) for name, kind in DEPTH_FIELDS)
    return HEADER_FIELDS + BODIES[code] + levels


def struct_of(fields: Layout) -> struct.Struct:
    return struct.Struct("<" + "".join(STRUCT_CODES[kind] for _, kind in fields))


HEADER = struct_of(HEADER_FIELDS)
_TICKER = struct_of(HEADER_FIELDS + BODIES[FeedCode.TICKER])
_PREV_CLOSE = struct_of(HEADER_FIELDS + BODIES[FeedCode.PREV_CLOSE])
_OI = struct_of(HEADER_FIELDS + BODIES[FeedCode.OI])
_QUOTE = struct_of(HEADER_FIELDS + BODIES[FeedCode.QUOTE])
_FULL_HEAD = struct_of(HEADER_FIELDS + BODIES[FeedCode.FULL])
_DEPTH = struct_of(DEPTH_FIELDS)
_DISCONNECT = struct_of(HEADER_FIELDS + BODIES[FeedCode.DISCONNECT])
PACKET_SIZES: dict[int, int] = {code: struct_of(layout(code)).size for code in BODIES}
FULL_SIZE = PACKET_SIZES[FeedCode.FULL]


def to_paise(value: float) -> int:
    """A float32 wire price as integer paise (exact for prices on the paisa grid)."""
    return round(value * 100)


def ltt_to_utc_epoch(ltt: int) -> int:
    return ltt - IST_SHIFT_SECONDS if ltt else 0


def utc_epoch_to_ltt(epoch: int) -> int:
    return epoch + IST_SHIFT_SECONDS if epoch else 0


@dataclass(frozen=True, slots=True)
class Ticker:
    segment: int
    security_id: int
    ltp_paise: int
    ltt_epoch: int  # true UTC epoch seconds


@dataclass(frozen=True, slots=True)
class PrevClose:
    segment: int
    security_id: int
    prev_close_paise: int
    prev_oi: int


@dataclass(frozen=True, slots=True)
class OpenInterest:
    segment: int
    security_id: int
    oi: int


@dataclass(frozen=True, slots=True)
class Quote:
    segment: int
    security_id: int
    ltp_paise: int
    ltq: int
    ltt_epoch: int
    atp_paise: int
    volume: int
    total_sell_qty: int
    total_buy_qty: int
    open_paise: int
    close_paise: int
    high_paise: int
    low_paise: int


@dataclass(frozen=True, slots=True)
class DepthLevel:
    bid_qty: int
    ask_qty: int
    bid_orders: int
    ask_orders: int
    bid_paise: int
    ask_paise: int


@dataclass(frozen=True, slots=True)
class Full:
    segment: int
    security_id: int
    ltp_paise: int
    ltq: int
    ltt_epoch: int
    atp_paise: int
    volume: int
    total_sell_qty: int
    total_buy_qty: int
    oi: int
    oi_day_high: int
    oi_day_low: int
    open_paise: int
    close_paise: int
    high_paise: int
    low_paise: int
    depth: tuple[DepthLevel, ...]


@dataclass(frozen=True, slots=True)
class MarketStatus:
    segment: int
    security_id: int


@dataclass(frozen=True, slots=True)
class Disconnect:
    segment: int
    security_id: int
    reason: int


Packet = Ticker | PrevClose | OpenInterest | Quote | Full | MarketStatus | Disconnect


@dataclass
class FeedDecoder:
    """Stateless decoding plus counters of what was skipped (exported as metrics by the feed)."""

    unknown_packets: int = 0
    truncated_packets: int = 0
    heartbeats: int = 0
    counts: dict[int, int] = field(default_factory=dict)

    def decode(self, frame: bytes | bytearray | memoryview) -> list[Packet]:
        buf = bytes(frame) if not isinstance(frame, bytes) else frame
        out: list[Packet] = []
        offset, end = 0, len(buf)
        while offset < end:
            if end - offset < HEADER.size:
                self.truncated_packets += 1
                break
            code, length, segment, security_id = HEADER.unpack_from(buf, offset)
            if length < HEADER.size or offset + length > end:
                self.truncated_packets += 1
                break
            expected = PACKET_SIZES.get(code)
            if expected is None:
                if code == FeedCode.HEARTBEAT:
                    self.heartbeats += 1
                else:
                    self.unknown_packets += 1
            elif length < expected:
                self.truncated_packets += 1
            else:
                out.append(_decode_one(code, buf, offset, segment, security_id))
                self.counts[code] = self.counts.get(code, 0) + 1
            offset += length
        return out


def _d_ticker(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    _, _, _, _, ltp, ltt = _TICKER.unpack_from(buf, offset)
    return Ticker(seg, sid, round(ltp * 100), ltt_to_utc_epoch(ltt))


def _d_quote(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    (_, _, _, _, ltp, ltq, ltt, atp, vol, sell, buy, o, c, h, low) = _QUOTE.unpack_from(buf, offset)
    return Quote(
        seg, sid, round(ltp * 100), ltq, ltt_to_utc_epoch(ltt), round(atp * 100), vol, sell, buy,
        round(o * 100), round(c * 100), round(h * 100), round(low * 100),
    )  # fmt: skip


def _d_full(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    head = _FULL_HEAD.unpack_from(buf, offset)
    (_, _, _, _, ltp, ltq, ltt, atp, vol, sell, buy, oi, oi_hi, oi_lo, o, c, h, low) = head
    levels = _DEPTH.iter_unpack(buf[offset + _FULL_HEAD.size : offset + FULL_SIZE])
    depth = tuple(
        DepthLevel(bq, aq, bo, ao, round(bp * 100), round(ap * 100)) for bq, aq, bo, ao, bp, ap in levels
    )
    return Full(
        seg, sid, round(ltp * 100), ltq, ltt_to_utc_epoch(ltt), round(atp * 100), vol, sell, buy,
        oi, oi_hi, oi_lo, round(o * 100), round(c * 100), round(h * 100), round(low * 100), depth,
    )  # fmt: skip


def _d_oi(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    return OpenInterest(seg, sid, _OI.unpack_from(buf, offset)[4])


def _d_prev_close(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    _, _, _, _, prev, prev_oi = _PREV_CLOSE.unpack_from(buf, offset)
    return PrevClose(seg, sid, round(prev * 100), prev_oi)


def _d_disconnect(buf: bytes, offset: int, seg: int, sid: int) -> Packet:
    return Disconnect(seg, sid, _DISCONNECT.unpack_from(buf, offset)[4])


def _d_market_status(_: bytes, __: int, seg: int, sid: int) -> Packet:
    return MarketStatus(seg, sid)


_DECODERS: dict[int, Callable[[bytes, int, int, int], Packet]] = {
    FeedCode.TICKER: _d_ticker,
    FeedCode.QUOTE: _d_quote,
    FeedCode.FULL: _d_full,
    FeedCode.OI: _d_oi,
    FeedCode.PREV_CLOSE: _d_prev_close,
    FeedCode.DISCONNECT: _d_disconnect,
    FeedCode.MARKET_STATUS: _d_market_status,
}


def _decode_one(code: int, buf: bytes, offset: int, segment: int, security_id: int) -> Packet:
    return _DECODERS[code](buf, offset, segment, security_id)


# --- encoding (the sim's side) -------------------------------------------------------------


def _rupees(paise: int) -> float:
    return paise / 100


def _e_ticker(p: Ticker) -> bytes:
    return _TICKER.pack(
        FeedCode.TICKER,
        _TICKER.size,
        p.segment,
        p.security_id,
        _rupees(p.ltp_paise),
        utc_epoch_to_ltt(p.ltt_epoch),
    )


def _e_quote(p: Quote) -> bytes:
    return _QUOTE.pack(
        FeedCode.QUOTE, _QUOTE.size, p.segment, p.security_id, _rupees(p.ltp_paise), p.ltq & 0xFFFF,
        utc_epoch_to_ltt(p.ltt_epoch), _rupees(p.atp_paise), p.volume, p.total_sell_qty, p.total_buy_qty,
        _rupees(p.open_paise), _rupees(p.close_paise), _rupees(p.high_paise), _rupees(p.low_paise),
    )  # fmt: skip


def _e_full(p: Full) -> bytes:
    given = list(p.depth[:DEPTH_LEVELS])
    levels = given + [DepthLevel(0, 0, 0, 0, 0, 0)] * (DEPTH_LEVELS - len(given))
    head = _FULL_HEAD.pack(
        FeedCode.FULL, FULL_SIZE, p.segment, p.security_id, _rupees(p.ltp_paise), p.ltq & 0xFFFF,
        utc_epoch_to_ltt(p.ltt_epoch), _rupees(p.atp_paise), p.volume, p.total_sell_qty, p.total_buy_qty,
        p.oi, p.oi_day_high, p.oi_day_low,
        _rupees(p.open_paise), _rupees(p.close_paise), _rupees(p.high_paise), _rupees(p.low_paise),
    )  # fmt: skip
    return head + b"".join(
        _DEPTH.pack(
            d.bid_qty, d.ask_qty, d.bid_orders, d.ask_orders, _rupees(d.bid_paise), _rupees(d.ask_paise)
        )
        for d in levels
    )


def encode(packet: Packet) -> bytes:  # noqa: PLR0911 - one case per packet kind
    """One packet as Dhan sends it (the sim sends one packet per WebSocket message)."""
    seg, sid = packet.segment, packet.security_id
    match packet:
        case Ticker():
            return _e_ticker(packet)
        case Quote():
            return _e_quote(packet)
        case Full():
            return _e_full(packet)
        case OpenInterest():
            return _OI.pack(FeedCode.OI, _OI.size, seg, sid, packet.oi)
        case PrevClose():
            prev = _rupees(packet.prev_close_paise)
            return _PREV_CLOSE.pack(FeedCode.PREV_CLOSE, _PREV_CLOSE.size, seg, sid, prev, packet.prev_oi)
        case Disconnect():
            return _DISCONNECT.pack(FeedCode.DISCONNECT, _DISCONNECT.size, seg, sid, packet.reason)
        case MarketStatus():
            return HEADER.pack(FeedCode.MARKET_STATUS, HEADER.size, seg, sid)
