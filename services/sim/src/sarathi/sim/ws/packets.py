"""Market quotes → Dhan feed packets (REFERENCE §6.5), bytes from the shared codec's layout table.

Pure functions of one `Quote`: the same quote gives the same bytes. What the market model does
not carry is derived here, deterministically:

- depth: the model's five-level book; if it gives none, five levels stepping one tick away from
  the top of book, quantities growing with the level;
- total buy / sell quantity: the sum of the five levels;
- day-high / day-low OI: the range of the previous and current OI (the model keeps no history);
- day close: 0 while the session runs (as Dhan), the LTP once the session has closed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from sarathi.common.dhan import feed_codec as codec
from sarathi.common.dhan.feed_requests import FeedMode
from sarathi.sim.instruments import SimInstrument
from sarathi.sim.market.view import DepthLevel, Quote

DEPTH_LEVELS = codec.DEPTH_LEVELS
_PAISE = Decimal(100)
_U32 = 0xFFFF_FFFF
_U16 = 0xFFFF


def u32(value: int) -> int:
    """Clamp a count to the wire's unsigned 32 bits (the struct would refuse anything else)."""
    return min(max(int(value), 0), _U32)


def paise(value: Decimal) -> int:
    """Rupees as integer paise (the codec's unit)."""
    return int((value * _PAISE).to_integral_value(ROUND_HALF_EVEN))


def epoch(quote: Quote) -> int:
    """The true UTC epoch of the last trade (the codec shifts it to IST on the wire)."""
    return int(quote.last_trade_time.timestamp())


def _ids(instrument: SimInstrument) -> tuple[int, int]:
    return instrument.segment.code, int(instrument.security_id)


def depth(instrument: SimInstrument, quote: Quote) -> tuple[codec.DepthLevel, ...]:
    """The quote's five-level book; synthesised around the top of book when the model gives none."""
    if quote.bid_depth or quote.ask_depth:
        return _model_depth(quote)
    if quote.bid <= 0 and quote.ask <= 0:
        return tuple(codec.DepthLevel(0, 0, 0, 0, 0, 0) for _ in range(DEPTH_LEVELS))
    tick = instrument.tick_size
    lot = max(instrument.lot_size, 1)
    levels = []
    for level in range(DEPTH_LEVELS):
        bid = quote.bid - tick * level if quote.bid > 0 else Decimal(0)
        ask = quote.ask + tick * level if quote.ask > 0 else Decimal(0)
        bid_qty = u32(quote.bid_qty * (level + 1)) if bid > 0 else 0
        ask_qty = u32(quote.ask_qty * (level + 1)) if ask > 0 else 0
        levels.append(
            codec.DepthLevel(
                bid_qty=bid_qty,
                ask_qty=ask_qty,
                bid_orders=min(max(bid_qty // lot, 1 if bid_qty else 0), _U16),
                ask_orders=min(max(ask_qty // lot, 1 if ask_qty else 0), _U16),
                bid_paise=paise(max(bid, Decimal(0))),
                ask_paise=paise(ask),
            )
        )
    return tuple(levels)


def _model_depth(quote: Quote) -> tuple[codec.DepthLevel, ...]:
    empty = DepthLevel(Decimal(0), 0, 0)
    bids = [*quote.bid_depth[:DEPTH_LEVELS], *[empty] * (DEPTH_LEVELS - len(quote.bid_depth[:DEPTH_LEVELS]))]
    asks = [*quote.ask_depth[:DEPTH_LEVELS], *[empty] * (DEPTH_LEVELS - len(quote.ask_depth[:DEPTH_LEVELS]))]
    return tuple(
        codec.DepthLevel(
            bid_qty=u32(bid.quantity),
            ask_qty=u32(ask.quantity),
            bid_orders=min(max(bid.orders, 0), _U16),
            ask_orders=min(max(ask.orders, 0), _U16),
            bid_paise=paise(max(bid.price, Decimal(0))),
            ask_paise=paise(max(ask.price, Decimal(0))),
        )
        for bid, ask in zip(bids, asks, strict=True)
    )


def ticker(instrument: SimInstrument, quote: Quote) -> codec.Ticker:
    segment, security_id = _ids(instrument)
    return codec.Ticker(segment, security_id, paise(quote.ltp), epoch(quote))


def prev_close(instrument: SimInstrument, quote: Quote) -> codec.PrevClose:
    segment, security_id = _ids(instrument)
    return codec.PrevClose(segment, security_id, paise(quote.prev_close), u32(quote.prev_oi))


def open_interest(instrument: SimInstrument, quote: Quote) -> codec.OpenInterest:
    segment, security_id = _ids(instrument)
    return codec.OpenInterest(segment, security_id, u32(quote.oi))


def quote_packet(instrument: SimInstrument, quote: Quote, *, session_closed: bool) -> codec.Quote:
    segment, security_id = _ids(instrument)
    book = depth(instrument, quote)
    return codec.Quote(
        segment=segment,
        security_id=security_id,
        ltp_paise=paise(quote.ltp),
        ltq=max(quote.last_qty, 0),
        ltt_epoch=epoch(quote),
        atp_paise=paise(quote.average_price),
        volume=u32(quote.volume),
        total_sell_qty=u32(sum(level.ask_qty for level in book)),
        total_buy_qty=u32(sum(level.bid_qty for level in book)),
        open_paise=paise(quote.open),
        close_paise=paise(quote.ltp) if session_closed else 0,
        high_paise=paise(quote.high),
        low_paise=paise(quote.low),
    )


def full(instrument: SimInstrument, quote: Quote, *, session_closed: bool) -> codec.Full:
    q = quote_packet(instrument, quote, session_closed=session_closed)
    return codec.Full(
        segment=q.segment,
        security_id=q.security_id,
        ltp_paise=q.ltp_paise,
        ltq=q.ltq,
        ltt_epoch=q.ltt_epoch,
        atp_paise=q.atp_paise,
        volume=q.volume,
        total_sell_qty=q.total_sell_qty,
        total_buy_qty=q.total_buy_qty,
        oi=u32(quote.oi),
        oi_day_high=u32(max(quote.oi, quote.prev_oi)),
        oi_day_low=u32(min(quote.oi, quote.prev_oi) if quote.prev_oi else quote.oi),
        open_paise=q.open_paise,
        close_paise=q.close_paise,
        high_paise=q.high_paise,
        low_paise=q.low_paise,
        depth=depth(instrument, quote),
    )


def frames(instrument: SimInstrument, quote: Quote, mode: FeedMode, *, session_closed: bool) -> list[bytes]:
    """The WebSocket messages (one packet each) for one instrument in one mode at one step.

    Quote mode on a derivative adds an OI packet after the quote (REFERENCE §6.5, Appendix A.11).
    """
    match mode:
        case FeedMode.TICKER:
            return [codec.encode(ticker(instrument, quote))]
        case FeedMode.QUOTE:
            out = [codec.encode(quote_packet(instrument, quote, session_closed=session_closed))]
            if not instrument.is_index:
                out.append(codec.encode(open_interest(instrument, quote)))
            return out
        case FeedMode.FULL:
            return [codec.encode(full(instrument, quote, session_closed=session_closed))]


def encode_prev_close(instrument: SimInstrument, quote: Quote) -> bytes:
    """The code-6 packet sent when an instrument is subscribed, in any mode."""
    return codec.encode(prev_close(instrument, quote))


def disconnect(reason: int) -> bytes:
    """A code-50 packet with Dhan's reason (805 limit, 807 expired, 808/809 auth, 804 too many)."""
    return codec.encode(codec.Disconnect(0, 0, reason))


def market_status() -> bytes:
    """A code-7 packet: header only (the payload layout is undocumented, UNVERIFIED)."""
    return codec.encode(codec.MarketStatus(0, 0))
