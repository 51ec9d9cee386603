"""`TickMarket`: the latest tick of each instrument, from feed packets or bus ticks."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from sarathi.common.dhan import feed_codec as codec
from sarathi.common.domain.calendar import IST, MarketCalendar
from sarathi.common.domain.instruments import Underlying
from sarathi.common.messages.market import Tick
from sarathi.sim.instruments import SimInstrument, Universe
from sarathi.sim.market.tick_market import ScenarioUnavailableError, TickMarket
from sarathi.sim.testing import recordings as rec
from sarathi.sim.universe_builder import UniverseParams, build_universe

OPEN = datetime(2026, 9, 15, 9, 15, tzinfo=IST)


@pytest.fixture(scope="module")
def universe() -> Universe:
    return build_universe(OPEN.date(), MarketCalendar(), UniverseParams(strikes_each_side=1))


def a_call(universe: Universe) -> SimInstrument:
    return universe.options(Underlying.NIFTY)[0]


def decoded(*frames: bytes) -> list[codec.Packet]:
    decoder = codec.FeedDecoder()
    return [packet for frame in frames for packet in decoder.decode(frame)]


def a_tick(instrument: SimInstrument, ltp: str, **fields: object) -> Tick:
    return Tick(
        message_id="t-1", correlation_id="t-1", event_time=OPEN, segment=instrument.segment,
        security_id=instrument.security_id, ltp=Decimal(ltp), exchange_time=OPEN, received_at=OPEN,
        **fields,
    )  # fmt: skip


def test_an_instrument_with_no_tick_answers_a_zero_quote(universe: Universe) -> None:
    market = TickMarket(universe)
    quote = market.quote(a_call(universe), OPEN)
    assert (quote.ltp, quote.bid, quote.ask, quote.volume) == (Decimal(0), Decimal(0), Decimal(0), 0)
    assert not market.has_quote(a_call(universe))
    assert market.index_level(Underlying.NIFTY, OPEN) == 0


def test_a_full_packet_sets_ltp_book_oi_and_the_session_values(universe: Universe) -> None:
    market, call = TickMarket(universe), a_call(universe)
    book = rec.full(call, "101", "100.95", "101.05", OPEN, volume=6500, oi=13000)
    market.apply_packets(decoded(rec.prev_close(call, "97.10", 1300), book))
    quote = market.quote(call, OPEN + timedelta(seconds=3))
    assert (quote.ltp, quote.bid, quote.ask) == (Decimal("101"), Decimal("100.95"), Decimal("101.05"))
    assert (quote.bid_qty, quote.ask_qty, quote.volume, quote.oi) == (650, 650, 6500, 13000)
    assert (quote.prev_close, quote.prev_oi, quote.last_trade_time) == (Decimal("97.1"), 1300, OPEN)
    assert [level.price for level in quote.ask_depth] == [
        Decimal("101.05") + Decimal("0.05") * k for k in range(5)
    ]
    assert quote.at == OPEN + timedelta(seconds=3)
    assert market.has_quote(call)


def test_a_ticker_moves_the_ltp_and_keeps_the_last_book(universe: Universe) -> None:
    market, call = TickMarket(universe), a_call(universe)
    market.apply_packets(
        decoded(rec.full(call, "101", "100.95", "101.05", OPEN), rec.ticker(call, "99.5", OPEN))
    )
    quote = market.quote(call, OPEN)
    assert (quote.ltp, quote.low) == (Decimal("99.5"), Decimal("99.5"))
    assert (quote.bid, quote.ask) == (Decimal("100.95"), Decimal("101.05"))


def test_with_no_book_ever_seen_bid_and_ask_are_the_ltp(universe: Universe) -> None:
    market, call = TickMarket(universe), a_call(universe)
    market.apply_packets(decoded(rec.quote(call, "88.15", OPEN), rec.open_interest(call, 650)))
    quote = market.quote(call, OPEN)
    assert (quote.ltp, quote.bid, quote.ask, quote.oi) == (
        Decimal("88.15"),
        Decimal("88.15"),
        Decimal("88.15"),
        650,
    )


def test_an_index_quote_has_no_book_and_its_level_is_the_ltp(universe: Universe) -> None:
    market = TickMarket(universe)
    market.apply_packets(decoded(rec.ticker(universe.index(Underlying.NIFTY), "24010.55", OPEN)))
    assert market.index_level(Underlying.NIFTY, OPEN) == Decimal("24010.55")
    assert market.quote(universe.index(Underlying.NIFTY), OPEN).bid == 0


def test_a_bus_tick_sets_ltp_and_top_of_book(universe: Universe) -> None:
    market, call = TickMarket(universe), a_call(universe)
    market.apply_tick(
        a_tick(call, "120.5", bid=Decimal("120.45"), ask=Decimal("120.55"), bid_qty=65, ask_qty=130)
    )
    quote = market.quote(call, OPEN)
    assert (quote.ltp, quote.bid, quote.ask, quote.ask_qty) == (Decimal("120.5"), Decimal("120.45"),
                                                               Decimal("120.55"), 130)  # fmt: skip
    market.reset()
    assert not market.has_quote(call)


def test_scenarios_cannot_script_a_tick_market(universe: Universe) -> None:
    market = TickMarket(universe)
    with pytest.raises(ScenarioUnavailableError):
        market.script_contract(a_call(universe).security_id, OPEN, [(0, Decimal(100))])
    with pytest.raises(ScenarioUnavailableError):
        market.script_underlying(Underlying.NIFTY, OPEN, [(0, Decimal(24000))])
